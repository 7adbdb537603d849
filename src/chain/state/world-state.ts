import { bytesOfBinary, fromHex, sha256, sha256Binary, toHex, utf8, type Hash } from '../bytes.js';
import { CodecError, ChainCodes } from '../errors.js';
import type { Genesis } from '../genesis.js';
import { genesisWrites } from './genesis-state.js';
import {
  nodeHash,
  smtApplySorted,
  smtProve,
  smtValueHash,
  smtVerify,
  sortOps,
  type Bin,
  type SmtNode,
  type SmtOp,
  type StateProof,
} from './smt.js';
import type { StateWrites } from './state-writes.js';

export type { StateProof } from './smt.js';
export type { StateWrites } from './state-writes.js';

/** Read side shared by WorldState and the execution overlay. */
export interface StateReader {
  get(key: string): Uint8Array | undefined;
  /** Keys of one index group: 'member/', 'validator/', 'node/' or 'bal/<hex>/'. */
  keysWithPrefix(prefix: string): string[];
}

/** Index group of a key (for cheap prefix listing), or null when not indexed. */
export function indexGroup(key: string): string | null {
  if (key.startsWith('bal/')) {
    const i = key.indexOf('/', 4);
    return i < 0 ? null : key.slice(0, i + 1);
  }
  if (key.startsWith('member/')) return 'member/';
  if (key.startsWith('validator/')) return 'validator/';
  if (key.startsWith('node/')) return 'node/';
  return null;
}

// Hot keys (accounts, balances) are hashed again at every block that touches them: keep a bounded memo.
const KEY_HASH_MEMO_LIMIT = 200_000;
const keyHashMemo = new Map<string, Bin>();

/** sha256 of the utf8 key, in the tree's binary-string form (see bytes.ts). */
function stateKeyBin(key: string): Bin {
  let h = keyHashMemo.get(key);
  if (h === undefined) {
    h = sha256Binary(utf8(key));
    if (keyHashMemo.size >= KEY_HASH_MEMO_LIMIT) keyHashMemo.clear();
    keyHashMemo.set(key, h);
  }
  return h;
}
/** sha256 of the utf8 key: the path of `key` in the state tree. */
export function stateKeyHash(key: string): Hash {
  return bytesOfBinary(stateKeyBin(key));
}

export function applyWritesToTree(tree: SmtNode | null, writes: StateWrites): SmtNode | null {
  const ops: SmtOp[] = [];
  for (const [k, v] of writes) ops.push({ kh: stateKeyBin(k), vh: v === null ? null : smtValueHash(v) });
  return smtApplySorted(tree, sortOps(ops));
}

/** Precomputed tree of an execution, adopted by commit() when the base did not change. */
export const precomputedTrees = new WeakMap<object, { base: SmtNode | null; tree: SmtNode | null }>();

/**
 * Deterministic in-memory key/value world state with a sparse-Merkle commitment.
 * Mutated only by commit(); executeBlock works on an overlay.
 */
export class WorldState implements StateReader {
  private map: Map<string, Uint8Array>;
  private tree: SmtNode | null;
  private groups: Map<string, Set<string>>;

  private constructor(map: Map<string, Uint8Array>, tree: SmtNode | null, groups: Map<string, Set<string>>) {
    this.map = map;
    this.tree = tree;
    this.groups = groups;
  }

  static empty(): WorldState {
    return new WorldState(new Map(), null, new Map());
  }

  /** Initial state of a (structurally validated) genesis. */
  static fromGenesis(g: Genesis): WorldState {
    const s = WorldState.empty();
    s.commit(genesisWrites(g));
    return s;
  }

  static fromEntries(entries: Iterable<readonly [string, Uint8Array]>): WorldState {
    const s = WorldState.empty();
    const w: StateWrites = new Map();
    for (const [k, v] of entries) w.set(k, v);
    s.commit(w);
    return s;
  }

  get(key: string): Uint8Array | undefined {
    return this.map.get(key);
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
  get size(): number {
    return this.map.size;
  }
  keysWithPrefix(prefix: string): string[] {
    const g = this.groups.get(prefix);
    if (g !== undefined) return [...g];
    if (indexGroup(`${prefix}x`) === prefix) return []; // an indexed group with no keys
    const out: string[] = [];
    for (const k of this.map.keys()) if (k.startsWith(prefix)) out.push(k);
    return out;
  }
  entries(): IterableIterator<[string, Uint8Array]> {
    return this.map.entries();
  }
  root(): Hash {
    return nodeHash(this.tree);
  }
  prove(key: string): StateProof {
    return smtProve(this.tree, stateKeyBin(key));
  }
  /** Internal tree handle (used by executeBlock to precompute the next root). */
  treeHandle(): SmtNode | null {
    return this.tree;
  }

  /**
   * Applies writes (null = delete) and returns the new root. Pass the BlockExecution itself to
   * reuse the tree executeBlock already computed (skips re-hashing when the base is unchanged).
   */
  commit(input: StateWrites | { writes: StateWrites }): Hash {
    const writes = input instanceof Map ? input : input.writes;
    const pre = input instanceof Map ? undefined : precomputedTrees.get(input);
    this.tree = pre !== undefined && pre.base === this.tree ? pre.tree : applyWritesToTree(this.tree, writes);
    for (const [k, v] of writes) {
      const g = v === null || !this.map.has(k) ? indexGroup(k) : null; // only inserts and deletes change a group
      if (v === null) {
        this.map.delete(k);
        if (g !== null) {
          const set = this.groups.get(g);
          if (set) {
            set.delete(k);
            if (set.size === 0) this.groups.delete(g);
          }
        }
      } else {
        this.map.set(k, v);
        if (g !== null) {
          let set = this.groups.get(g);
          if (!set) this.groups.set(g, (set = new Set()));
          set.add(k);
        }
      }
    }
    return this.root();
  }

  /** Independent copy (shares immutable tree nodes; O(entries) for the key map). */
  clone(): WorldState {
    const groups = new Map<string, Set<string>>();
    for (const [g, s] of this.groups) groups.set(g, new Set(s));
    return new WorldState(new Map(this.map), this.tree, groups);
  }
}

/** Inclusion (value given) or non-inclusion (value undefined) of key under root. */
export function verifyStateProof(root: Hash, key: string, value: Uint8Array | undefined, proof: StateProof): boolean {
  try {
    return smtVerify(root, stateKeyHash(key), value === undefined ? null : sha256(value), proof);
  } catch {
    return false;
  }
}

/** Write-buffer over a reader; nothing reaches the base until the caller commits `writes`. */
export class Overlay implements StateReader {
  readonly writes: StateWrites = new Map();
  constructor(private readonly base: StateReader) {}
  get(key: string): Uint8Array | undefined {
    if (this.writes.size === 0) return this.base.get(key); // admission checks write nothing
    const w = this.writes.get(key);
    if (w !== undefined) return w === null ? undefined : w;
    return this.base.get(key);
  }
  set(key: string, value: Uint8Array): void {
    this.writes.set(key, value);
  }
  delete(key: string): void {
    this.writes.set(key, null);
  }
  keysWithPrefix(prefix: string): string[] {
    const set = new Set(this.base.keysWithPrefix(prefix));
    for (const [k, v] of this.writes) {
      if (!k.startsWith(prefix) || (k.slice(prefix.length).includes('/') && prefix.startsWith('bal/'))) continue;
      if (v === null) set.delete(k);
      else set.add(k);
    }
    return [...set];
  }
}

export interface StateProofJSON {
  siblings: string[];
  leaf: { keyHash: string; valueHash: string } | null;
}

/** JSON form for APIs and light clients (hashes as lowercase hex). */
export function stateProofToJSON(p: StateProof): StateProofJSON {
  return {
    siblings: p.siblings.map(toHex),
    leaf: p.leaf === null ? null : { keyHash: toHex(p.leaf.keyHash), valueHash: toHex(p.leaf.valueHash) },
  };
}
/** Throws CODEC_INVALID on malformed input. */
export function stateProofFromJSON(j: unknown): StateProof {
  const o = j as StateProofJSON;
  if (o === null || typeof o !== 'object' || !Array.isArray(o.siblings) || o.siblings.length > 256) {
    throw new CodecError(ChainCodes.CODEC_INVALID, 'malformed state proof');
  }
  if (o.leaf !== null && (typeof o.leaf !== 'object' || o.leaf === undefined))
    throw new CodecError(ChainCodes.CODEC_INVALID, 'malformed state proof leaf');
  return {
    siblings: o.siblings.map((s) => fromHex(s, 32)),
    leaf: o.leaf === null ? null : { keyHash: fromHex(o.leaf.keyHash, 32), valueHash: fromHex(o.leaf.valueHash, 32) },
  };
}

/** Proof of `key` in the state AFTER an execution (its precomputed tree), before it is committed; null if unknown. */
export function proveInExecution(exec: object, key: string): StateProof | null {
  const pre = precomputedTrees.get(exec);
  return pre === undefined ? null : smtProve(pre.tree, stateKeyBin(key));
}
