import { ClassicLevel } from 'classic-level';

/**
 * Durable chain storage in level. Every committed block is ONE atomic, fsynced batch:
 * block bytes, its commit certificate, hash->height, tx index, state writes and the head
 * pointer. A SIGKILL at any moment therefore leaves either the old head with the old state
 * or the new head with the new state, never a mix.
 *
 * Key layout (utf8 keys, binary values):
 *   b/<h12> block · c/<h12> commit certificate for block h · H/<hash hex> height
 *   t/<tx hash hex> height u32 | index u32 | code utf8 · s/<state key> state value
 *   m/head  height u32 | hash 32 · m/genesis sealed genesis JSON
 * Tiered storage (docs/storage-tiers.md):
 *   v/<state key>\0<h12> 1|value or 0 (deleted)   state history, super nodes only (never pruned)
 *   a/<account hex>/<h12>/<i6> tx hash              txs touching an account (light clients ask for these)
 *   e/<h12> epoch record (JSON)                      validator-set change made by block h (never pruned)
 *   m/lowest u32                                     lowest height whose block is retained (pruning nodes)
 */
export interface CommittedBlockWrite {
  height: number;
  hash: Uint8Array;
  blockBytes: Uint8Array;
  commitBytes: Uint8Array;
  /** hashHex: the hash's hex when the caller has it already (saves re-encoding it). */
  txs: { hash: Uint8Array; hashHex?: string; code: string }[];
  writes: Map<string, Uint8Array | null>;
  /** Extra metadata written in the same batch (key without the 'm/' prefix). */
  meta?: Map<string, Uint8Array>;
  /** Keep every state write under its height (archive / super). */
  history?: boolean;
  /** Accounts touched per tx index (account index for light clients). */
  accountTxs?: { account: string; index: number }[];
  /** Validator-set change made by this block (see epochs). */
  epoch?: Uint8Array;
}
export interface TxLocation {
  height: number;
  index: number;
  code: string;
}
export interface Head {
  height: number;
  hash: Uint8Array;
}

export const hkey = (h: number): string => h.toString().padStart(12, '0');
/** Key builders shared with the pruner (retention/) and history reader. */
export const StoreKeys = {
  block: (h: number): string => 'b/' + hkey(h),
  commit: (h: number): string => 'c/' + hkey(h),
  hashIndex: (hashHex: string): string => 'H/' + hashHex,
  tx: (hashHex: string): string => 't/' + hashHex,
  accountTx: (account: string, h: number, i: number): string =>
    `a/${account}/${hkey(h)}/${i.toString().padStart(6, '0')}`,
  /** First key of an account's txs from height `h` (a scan start). */
  accountTxsFrom: (account: string, h: number): string => `a/${account}/${hkey(h)}`,
  /** Just past an account's last tx key (a scan end: '0' follows '/'). */
  accountTxsEnd: (account: string): string => `a/${account}0`,
  history: (stateKey: string, h: number): string => `v/${stateKey}\0${hkey(h)}`,
  epoch: (h: number): string => 'e/' + hkey(h),
  /** First epoch key (a scan start). */
  epochsStart: 'e/',
} as const;
/** Key ranges by storage kind (consortia_storage_bytes{kind}). */
export const KIND_RANGES: Record<'blocks' | 'index' | 'state', [string, string][]> = {
  blocks: [
    ['b/', 'b0'],
    ['c/', 'c0'],
  ],
  index: [
    ['t/', 't0'],
    ['H/', 'H0'],
    ['a/', 'a0'],
  ],
  state: [
    ['s/', 's0'],
    ['v/', 'v0'],
    ['e/', 'e0'],
  ],
};
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export class ChainStore {
  private headCache: Head | null = null;

  private constructor(private readonly db: ClassicLevel<string, Uint8Array>) {}

  /**
   * `writeBufferSize`: a pruning node keeps its write-ahead log small so disk usage tracks the retained window.
   * Defaults: no snappy (values are hashes, keys and signatures, which it barely shrinks, while it cost
   * a visible share of a busy validator's CPU: bench:chain measured LevelDB's threads at 13% of the
   * signature checks' CPU with it, 9% without) and a memtable of about 8 MB, half as many flushes
   * and compactions as LevelDB's 4 MB. Not larger: with 16 MB each compaction was a ~1.5 s burst of
   * CPU. Its size varies by +-25% per process: nodes of one chain write the same bytes at the same
   * pace, so with equal sizes the nodes sharing a machine (local placement, a bench, a crowded
   * Kubernetes host) all compacted at the same moment and stalled blocks for seconds.
   */
  static async open(dir: string, opts: { writeBufferSize?: number } = {}): Promise<ChainStore> {
    const writeBufferSize = Math.round(8 * 1024 * 1024 * (0.75 + 0.5 * Math.random()));
    const db = new ClassicLevel<string, Uint8Array>(dir, {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
      compression: false,
      writeBufferSize,
      ...opts,
    });
    await db.open();
    const s = new ChainStore(db);
    const head = await s.raw('m/head');
    if (head) s.headCache = { height: Buffer.from(head).readUInt32BE(0), hash: head.slice(4, 36) };
    const lowest = await s.raw('m/lowest');
    if (lowest) s.lowestCache = Buffer.from(lowest).readUInt32BE(0);
    return s;
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /** Lowest height whose block is retained (1 unless pruned or started from a snapshot). */
  lowestHeight(): number {
    return this.lowestCache;
  }
  private lowestCache = 1;

  /** Deletes `keys` and moves the lowest retained height, in one (unsynced: re-pruning is idempotent) batch. */
  async prune(keys: string[], newLowest: number): Promise<void> {
    const lb = Buffer.alloc(4);
    lb.writeUInt32BE(newLowest, 0);
    const ops = keys.map((key) => ({ type: 'del' as const, key }));
    await this.atomicWrite([...ops, { type: 'put', key: 'm/lowest', value: lb }], false);
    this.lowestCache = newLowest;
  }

  /** Lets LevelDB drop pruned data now rather than at some later compaction (keeps disk usage flat). */
  async compact(start: string, end: string): Promise<void> {
    await this.db.compactRange(start, end);
  }

  /** Approximate bytes of the given key ranges (sst files; recent writes may still be in the log). */
  async approximateBytes(ranges: [string, string][]): Promise<number> {
    let n = 0;
    for (const [a, b] of ranges) n += await this.db.approximateSize(a, b);
    return n;
  }

  /** Keys and values in [gte, lt) in order (or reversed), up to limit. */
  async scan(gte: string, lt: string, limit = -1, reverse = false): Promise<[string, Uint8Array][]> {
    const out: [string, Uint8Array][] = [];
    for await (const [k, v] of this.db.iterator({ gte, lt, limit, reverse })) out.push([k, v]);
    return out;
  }

  /** Installs a verified state snapshot as the new head (empty store only): state, head block, commit, metadata. */
  async installSnapshot(a: {
    height: number;
    hash: Uint8Array;
    blockBytes: Uint8Array;
    commitBytes: Uint8Array;
    entries: Iterable<[string, Uint8Array]>;
    meta: Map<string, Uint8Array>;
    raw?: [string, Uint8Array][];
  }): Promise<void> {
    if (this.headCache) throw new Error('store: snapshot into a non-empty store');
    const ops: { type: 'put'; key: string; value: Uint8Array }[] = [];
    for (const [k, v] of a.entries) ops.push({ type: 'put', key: 's/' + k, value: v });
    ops.push({ type: 'put', key: StoreKeys.block(a.height), value: a.blockBytes });
    ops.push({ type: 'put', key: StoreKeys.commit(a.height), value: a.commitBytes });
    const hb = Buffer.alloc(4);
    hb.writeUInt32BE(a.height, 0);
    ops.push({ type: 'put', key: StoreKeys.hashIndex(hex(a.hash)), value: hb });
    ops.push({ type: 'put', key: 'm/lowest', value: hb });
    ops.push({ type: 'put', key: 'm/state-init', value: new Uint8Array([1]) });
    for (const [k, v] of a.meta) ops.push({ type: 'put', key: 'm/' + k, value: v });
    for (const [k, v] of a.raw ?? []) ops.push({ type: 'put', key: k, value: v });
    const head = Buffer.alloc(36);
    head.writeUInt32BE(a.height, 0);
    head.set(a.hash, 4);
    ops.push({ type: 'put', key: 'm/head', value: head });
    await this.atomicWrite(ops, true);
    this.headCache = { height: a.height, hash: new Uint8Array(a.hash) };
    this.lowestCache = a.height;
  }

  head(): Head | null {
    return this.headCache;
  }

  /**
   * One atomic LevelDB write of `ops`. A chained batch is the same single WriteBatch as the
   * array form, but abstract-level's per-op JS in the array form cost ~5x more (profiled: the
   * largest non-signature cost of a committed tx).
   */
  private async atomicWrite(
    ops: { type: 'put' | 'del'; key: string; value?: Uint8Array }[],
    sync: boolean,
  ): Promise<void> {
    await this.writeBatch((b) => {
      for (const o of ops) {
        if (o.type === 'put') b.put(o.key, o.value!);
        else b.del(o.key);
      }
    }, sync);
  }

  /** One atomic chained-batch write filled by `fill` (the batch is closed if filling throws). */
  private async writeBatch(
    fill: (b: { put(key: string, value: Uint8Array): unknown; del(key: string): unknown }) => void,
    sync: boolean,
  ): Promise<void> {
    const b = this.db.batch();
    try {
      fill(b);
    } catch (err) {
      await b.close();
      throw err;
    }
    await b.write(sync ? { sync: true } : {});
  }

  private async raw(key: string): Promise<Uint8Array | undefined> {
    const v = await this.db.get(key);
    return v ?? undefined;
  }

  async getBlockBytes(height: number): Promise<Uint8Array | undefined> {
    return this.raw('b/' + hkey(height));
  }
  async getCommitBytes(height: number): Promise<Uint8Array | undefined> {
    return this.raw('c/' + hkey(height));
  }

  async getHeightByHash(hash: Uint8Array): Promise<number | undefined> {
    const v = await this.raw('H/' + hex(hash));
    return v ? Buffer.from(v).readUInt32BE(0) : undefined;
  }

  async getTx(hashHex: string): Promise<TxLocation | undefined> {
    const v = await this.raw('t/' + hashHex.toLowerCase());
    if (!v) return undefined;
    const b = Buffer.from(v);
    return { height: b.readUInt32BE(0), index: b.readUInt32BE(4), code: b.subarray(8).toString('utf8') };
  }

  async getMeta(key: string): Promise<Uint8Array | undefined> {
    return this.raw('m/' + key);
  }

  async getGenesisJson(): Promise<string | undefined> {
    const v = await this.raw('m/genesis');
    return v ? Buffer.from(v).toString('utf8') : undefined;
  }

  async putGenesisJson(json: string): Promise<void> {
    await this.db.put('m/genesis', Buffer.from(json, 'utf8'), { sync: true });
  }

  /** Writes the genesis state once (atomically with its marker), before block 1. */
  async initState(writes: Map<string, Uint8Array | null>, history = false): Promise<void> {
    if (await this.raw('m/state-init')) return;
    const ops: { type: 'put'; key: string; value: Uint8Array }[] = [];
    for (const [k, v] of writes) {
      if (v === null) continue;
      ops.push({ type: 'put', key: 's/' + k, value: v });
      if (history) ops.push({ type: 'put', key: StoreKeys.history(k, 0), value: Buffer.concat([Buffer.from([1]), v]) });
    }
    ops.push({ type: 'put', key: 'm/state-init', value: new Uint8Array([1]) });
    await this.atomicWrite(ops, true);
  }

  /** Loads the whole persisted world state (node start-up). */
  async loadState(): Promise<[string, Uint8Array][]> {
    const out: [string, Uint8Array][] = [];
    for await (const [k, v] of this.db.iterator({ gte: 's/', lt: 's0' })) out.push([k.slice(2), v]);
    return out;
  }

  /** Persists one committed block atomically (see class comment). Heights must be contiguous. */
  async commitBlock(w: CommittedBlockWrite): Promise<void> {
    const expected = (this.headCache?.height ?? 0) + 1;
    if (w.height !== expected) throw new Error(`store: commit height ${w.height}, expected ${expected}`);
    // Straight into one chained batch (no intermediate op objects: a block writes several per tx).
    await this.writeBatch((b) => {
      const hk = hkey(w.height);
      b.put('b/' + hk, w.blockBytes);
      b.put('c/' + hk, w.commitBytes);
      const hb = Buffer.alloc(4);
      hb.writeUInt32BE(w.height, 0);
      b.put('H/' + hex(w.hash), hb);
      for (let i = 0; i < w.txs.length; i++) {
        const t = w.txs[i]!;
        const codeLen = Buffer.byteLength(t.code, 'utf8');
        const v = Buffer.allocUnsafe(8 + codeLen);
        v.writeUInt32BE(w.height, 0);
        v.writeUInt32BE(i, 4);
        v.write(t.code, 8, 'utf8');
        b.put('t/' + (t.hashHex ?? hex(t.hash)), v);
      }
      // State values are small arrays made in JS, kept on the V8 heap: handed to LevelDB one by one,
      // each would get a malloc'd backing store of its own. Copies in one block-sized buffer instead.
      let size = 0;
      for (const v of w.writes.values()) if (v !== null) size += v.length;
      const arena = Buffer.allocUnsafe(size);
      let off = 0;
      for (const [k, v] of w.writes) {
        if (v === null) b.del('s/' + k);
        else {
          arena.set(v, off);
          b.put('s/' + k, arena.subarray(off, (off += v.length)));
        }
        if (w.history)
          b.put(
            StoreKeys.history(k, w.height),
            v === null ? new Uint8Array([0]) : Buffer.concat([Buffer.from([1]), v]),
          );
      }
      for (const a of w.accountTxs ?? [])
        b.put(StoreKeys.accountTx(a.account, w.height, a.index), w.txs[a.index]!.hash);
      if (w.epoch) b.put(StoreKeys.epoch(w.height), w.epoch);
      for (const [k, v] of w.meta ?? []) b.put('m/' + k, v);
      const head = Buffer.alloc(36);
      head.writeUInt32BE(w.height, 0);
      head.set(w.hash, 4);
      b.put('m/head', head);
    }, true);
    this.headCache = { height: w.height, hash: new Uint8Array(w.hash) };
  }
}
