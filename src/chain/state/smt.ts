import { ZERO_HASH, binaryOf, bytesEqual, bytesOfBinary, sha256Binary, sha256PairBinary, type Hash } from '../bytes.js';

/**
 * Compact sparse Merkle trie over 256-bit key hashes (Diem/JMT style): a subtree holding a
 * single leaf is that leaf, an empty subtree hashes to 32 zero bytes.
 *   leaf   = H(0x00 || keyHash || valueHash)
 *   branch = H(0x01 || left || right)
 * Nodes are immutable (path copying), so a tree version is O(1) to keep or share; hashes are
 * computed lazily and cached, so a batch of writes re-hashes each touched node once.
 */
export interface SmtLeaf {
  readonly kind: 0;
  readonly kh: Bin;
  readonly vh: Bin;
  h: Bin | null;
}
export interface SmtBranch {
  readonly kind: 1;
  readonly l: SmtNode | null;
  readonly r: SmtNode | null;
  h: Bin | null;
}
export type SmtNode = SmtLeaf | SmtBranch;

/** Inside the tree every 32-byte hash is a binary string (see bytes.ts): one per node, per block. */
export type Bin = string;
const ZERO_BIN: Bin = '\0'.repeat(32);

/** Proof for one key: sibling hashes from the root down, and the terminal leaf if the path ends in one. */
export interface StateProof {
  siblings: Hash[];
  leaf: { keyHash: Hash; valueHash: Hash } | null;
}

const rawLeafHash = (kh: Bin, vh: Bin): Bin => sha256PairBinary(0, kh, vh);
const rawBranchHash = (l: Bin, r: Bin): Bin => sha256PairBinary(1, l, r);
/** sha256 of a state value, as kept in a leaf. */
export const smtValueHash = sha256Binary;
export function smtLeafHash(kh: Uint8Array, vh: Uint8Array): Hash {
  return bytesOfBinary(rawLeafHash(binaryOf(kh), binaryOf(vh)));
}
export function smtBranchHash(l: Hash, r: Hash): Hash {
  return bytesOfBinary(rawBranchHash(binaryOf(l), binaryOf(r)));
}

/** Bit d (0 = most significant of byte 0) of a key hash. */
export function bit(kh: Uint8Array, d: number): number {
  return (kh[d >> 3]! >> (7 - (d & 7))) & 1;
}
function binBit(kh: Bin, d: number): number {
  return (kh.charCodeAt(d >> 3) >> (7 - (d & 7))) & 1;
}

function leaf(kh: Bin, vh: Bin): SmtLeaf {
  return { kind: 0, kh, vh, h: null };
}
function branch(l: SmtNode | null, r: SmtNode | null): SmtBranch {
  return { kind: 1, l, r, h: null };
}

function rawNodeHash(n: SmtNode | null): Bin {
  if (n === null) return ZERO_BIN;
  if (n.h !== null) return n.h;
  n.h = n.kind === 0 ? rawLeafHash(n.kh, n.vh) : rawBranchHash(rawNodeHash(n.l), rawNodeHash(n.r));
  return n.h;
}

export function nodeHash(n: SmtNode | null): Hash {
  return n === null ? new Uint8Array(32) : bytesOfBinary(rawNodeHash(n));
}

function split(a: SmtLeaf, b: SmtLeaf, d: number): SmtNode {
  const ba = binBit(a.kh, d);
  const bb = binBit(b.kh, d);
  if (ba === bb) {
    const c = split(a, b, d + 1);
    return ba === 0 ? branch(c, null) : branch(null, c);
  }
  return ba === 0 ? branch(a, b) : branch(b, a);
}

export function smtInsert(n: SmtNode | null, kh: Bin, vh: Bin, d = 0): SmtNode {
  if (n === null) return leaf(kh, vh);
  if (n.kind === 0) {
    if (n.kh === kh) return n.vh === vh ? n : leaf(kh, vh);
    return split(n, leaf(kh, vh), d);
  }
  if (binBit(kh, d) === 0) {
    const l = smtInsert(n.l, kh, vh, d + 1);
    return l === n.l ? n : branch(l, n.r);
  }
  const r = smtInsert(n.r, kh, vh, d + 1);
  return r === n.r ? n : branch(n.l, r);
}

export function smtRemove(n: SmtNode | null, kh: Bin, d = 0): SmtNode | null {
  if (n === null) return null;
  if (n.kind === 0) return n.kh === kh ? null : n;
  let l = n.l;
  let r = n.r;
  if (binBit(kh, d) === 0) {
    l = smtRemove(l, kh, d + 1);
    if (l === n.l) return n;
  } else {
    r = smtRemove(r, kh, d + 1);
    if (r === n.r) return n;
  }
  // keep the tree compact: a lone leaf moves up to replace its parent
  if (l === null && r === null) return null;
  if (l === null && r!.kind === 0) return r;
  if (r === null && l!.kind === 0) return l;
  return branch(l, r);
}

/** One write of a batch: vh null = delete. */
export interface SmtOp {
  kh: Bin;
  vh: Bin | null;
}

export function sortOps(ops: SmtOp[]): SmtOp[] {
  return ops.sort((a, b) => (a.kh < b.kh ? -1 : a.kh > b.kh ? 1 : 0));
}

// first index in [lo, hi) whose bit d is 1 (ops share the prefix above d, so bits are monotone)
function splitPoint(ks: { kh: Bin }[], lo: number, hi: number, d: number): number {
  let a = lo;
  let b = hi;
  while (a < b) {
    const m = (a + b) >> 1;
    if (binBit(ks[m]!.kh, d) === 0) a = m + 1;
    else b = m;
  }
  return a;
}

/** Builds a compact subtree from leaves sorted by key hash (unique), all sharing the prefix above d. */
export function smtBuild(leaves: SmtLeaf[], lo = 0, hi = leaves.length, d = 0): SmtNode | null {
  if (hi - lo === 0) return null;
  if (hi - lo === 1) return leaves[lo]!;
  const m = splitPoint(leaves, lo, hi, d);
  return branch(smtBuild(leaves, lo, m, d + 1), smtBuild(leaves, m, hi, d + 1));
}

function compact(l: SmtNode | null, r: SmtNode | null, orig: SmtBranch): SmtNode | null {
  if (l === orig.l && r === orig.r) return orig;
  if (l === null && r === null) return null;
  if (l === null && r!.kind === 0) return r;
  if (r === null && l!.kind === 0) return l;
  return branch(l, r);
}

/** Applies ops sorted by key hash (unique keys) in one pass; untouched subtrees are shared. */
export function smtApplySorted(n: SmtNode | null, ops: SmtOp[], lo = 0, hi = ops.length, d = 0): SmtNode | null {
  if (lo >= hi) return n;
  if (n === null || n.kind === 0) {
    // rebuild this subtree from the (possibly replaced or deleted) existing leaf plus the inserts
    const leaves: SmtLeaf[] = [];
    let existing: SmtLeaf | null = n;
    for (let i = lo; i < hi; i++) {
      const op = ops[i]!;
      if (existing !== null && existing.kh < op.kh) {
        leaves.push(existing);
        existing = null;
      }
      if (existing !== null && existing.kh === op.kh) {
        if (op.vh !== null && existing.vh === op.vh) leaves.push(existing);
        else if (op.vh !== null) leaves.push(leaf(op.kh, op.vh));
        existing = null;
      } else if (op.vh !== null) leaves.push(leaf(op.kh, op.vh));
    }
    if (existing !== null) leaves.push(existing);
    if (leaves.length === 1 && leaves[0] === n) return n;
    return smtBuild(leaves, 0, leaves.length, d);
  }
  const m = splitPoint(ops, lo, hi, d);
  return compact(smtApplySorted(n.l, ops, lo, m, d + 1), smtApplySorted(n.r, ops, m, hi, d + 1), n);
}

export function smtProve(root: SmtNode | null, kh: Bin): StateProof {
  const siblings: Hash[] = [];
  let n = root;
  let d = 0;
  while (n !== null && n.kind === 1) {
    if (binBit(kh, d) === 0) {
      siblings.push(nodeHash(n.r));
      n = n.l;
    } else {
      siblings.push(nodeHash(n.l));
      n = n.r;
    }
    d++;
  }
  return { siblings, leaf: n === null ? null : { keyHash: bytesOfBinary(n.kh), valueHash: bytesOfBinary(n.vh) } };
}

function prefixEqual(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  for (let d = 0; d < bits; d++) if (bit(a, d) !== bit(b, d)) return false;
  return true;
}

/**
 * Verifies inclusion (valueHash !== null) or non-inclusion (valueHash === null) of keyHash
 * under root. Non-inclusion ends in an empty subtree or in another key's leaf sharing the path.
 */
export function smtVerify(root: Hash, kh: Uint8Array, valueHash: Hash | null, proof: StateProof): boolean {
  const depth = proof.siblings.length;
  if (depth > 256) return false;
  let cur: Hash;
  if (valueHash !== null) {
    if (proof.leaf === null || !bytesEqual(proof.leaf.keyHash, kh) || !bytesEqual(proof.leaf.valueHash, valueHash))
      return false;
    cur = smtLeafHash(kh, valueHash);
  } else if (proof.leaf === null) {
    cur = ZERO_HASH;
  } else {
    const other = proof.leaf.keyHash;
    if (other.length !== 32 || proof.leaf.valueHash.length !== 32) return false;
    if (bytesEqual(other, kh) || !prefixEqual(other, kh, depth)) return false;
    cur = smtLeafHash(other, proof.leaf.valueHash);
  }
  for (let d = depth - 1; d >= 0; d--) {
    const s = proof.siblings[d]!;
    if (s.length !== 32) return false;
    cur = bit(kh, d) === 0 ? smtBranchHash(cur, s) : smtBranchHash(s, cur);
  }
  return bytesEqual(cur, root);
}
