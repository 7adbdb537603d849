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
 */
export interface CommittedBlockWrite {
  height: number;
  hash: Uint8Array;
  blockBytes: Uint8Array;
  commitBytes: Uint8Array;
  txs: { hash: Uint8Array; code: string }[];
  writes: Map<string, Uint8Array | null>;
  /** Extra metadata written in the same batch (key without the 'm/' prefix). */
  meta?: Map<string, Uint8Array>;
}
export interface TxLocation { height: number; index: number; code: string }
export interface Head { height: number; hash: Uint8Array }

const hkey = (h: number): string => h.toString().padStart(12, '0');
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export class ChainStore {
  private headCache: Head | null = null;

  private constructor(private readonly db: ClassicLevel<string, Uint8Array>) {}

  static async open(dir: string): Promise<ChainStore> {
    const db = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.open();
    const s = new ChainStore(db);
    const head = await s.raw('m/head');
    if (head) s.headCache = { height: Buffer.from(head).readUInt32BE(0), hash: head.slice(4, 36) };
    return s;
  }

  async close(): Promise<void> { await this.db.close(); }

  head(): Head | null { return this.headCache; }

  private async raw(key: string): Promise<Uint8Array | undefined> {
    const v = await this.db.get(key);
    return v ?? undefined;
  }

  async getBlockBytes(height: number): Promise<Uint8Array | undefined> { return this.raw('b/' + hkey(height)); }
  async getCommitBytes(height: number): Promise<Uint8Array | undefined> { return this.raw('c/' + hkey(height)); }

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

  async getMeta(key: string): Promise<Uint8Array | undefined> { return this.raw('m/' + key); }

  async getGenesisJson(): Promise<string | undefined> {
    const v = await this.raw('m/genesis');
    return v ? Buffer.from(v).toString('utf8') : undefined;
  }

  async putGenesisJson(json: string): Promise<void> {
    await this.db.put('m/genesis', Buffer.from(json, 'utf8'), { sync: true });
  }

  /** Writes the genesis state once (atomically with its marker), before block 1. */
  async initState(writes: Map<string, Uint8Array | null>): Promise<void> {
    if (await this.raw('m/state-init')) return;
    const ops: { type: 'put'; key: string; value: Uint8Array }[] = [];
    for (const [k, v] of writes) if (v !== null) ops.push({ type: 'put', key: 's/' + k, value: v });
    ops.push({ type: 'put', key: 'm/state-init', value: new Uint8Array([1]) });
    await this.db.batch(ops as never, { sync: true });
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
    const ops: { type: 'put' | 'del'; key: string; value?: Uint8Array }[] = [];
    const hk = hkey(w.height);
    ops.push({ type: 'put', key: 'b/' + hk, value: w.blockBytes });
    ops.push({ type: 'put', key: 'c/' + hk, value: w.commitBytes });
    const hb = Buffer.alloc(4); hb.writeUInt32BE(w.height, 0);
    ops.push({ type: 'put', key: 'H/' + hex(w.hash), value: hb });
    w.txs.forEach((t, i) => {
      const code = Buffer.from(t.code, 'utf8');
      const v = Buffer.allocUnsafe(8 + code.length);
      v.writeUInt32BE(w.height, 0); v.writeUInt32BE(i, 4); code.copy(v, 8);
      ops.push({ type: 'put', key: 't/' + hex(t.hash), value: v });
    });
    for (const [k, v] of w.writes) ops.push(v === null ? { type: 'del', key: 's/' + k } : { type: 'put', key: 's/' + k, value: v });
    for (const [k, v] of w.meta ?? []) ops.push({ type: 'put', key: 'm/' + k, value: v });
    const head = Buffer.alloc(36); head.writeUInt32BE(w.height, 0); head.set(w.hash, 4);
    ops.push({ type: 'put', key: 'm/head', value: head });
    await this.db.batch(ops as never, { sync: true });
    this.headCache = { height: w.height, hash: new Uint8Array(w.hash) };
  }
}
