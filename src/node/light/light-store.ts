import { ClassicLevel } from 'classic-level';
import { fromHex, toHex, type LightTrust } from '../../chain/index.js';
import { hkey } from '../store/index.js';

/**
 * Storage of a light node: verified headers and their commit certificates, the trust point,
 * and the verified txs and account state of followed accounts. Nothing else.
 *   h/<h12> header · c/<h12> commit · m/trust JSON · x/<acct>/<h12>/<i6> tx JSON · A/<acct> account JSON
 *   m/cursor/<acct> where to fetch its txs from ({height, index}) · m/sent/<acct> nonces, from 0, the kept txs show it signed
 */
export interface TrustJSON {
  chainId: string;
  height: number;
  hash: string;
  stateRoot: string | null;
  validators: { publicKey: string; power: number; memberId: string }[];
}

export function trustToJSON(t: LightTrust): TrustJSON {
  return {
    chainId: t.chainId,
    height: t.height,
    hash: toHex(t.hash),
    stateRoot: t.stateRoot ? toHex(t.stateRoot) : null,
    validators: t.validators.map((v) => ({ publicKey: toHex(v.publicKey), power: v.power, memberId: v.memberId })),
  };
}
export function trustFromJSON(j: TrustJSON): LightTrust {
  return {
    chainId: j.chainId,
    height: j.height,
    hash: fromHex(j.hash, 32),
    stateRoot: j.stateRoot ? fromHex(j.stateRoot, 32) : null,
    validators: j.validators.map((v) => ({
      publicKey: fromHex(v.publicKey, 32),
      power: v.power,
      memberId: v.memberId,
    })),
  };
}

const json = (v: unknown): Uint8Array => Buffer.from(JSON.stringify(v));
const fromJson = (b: Uint8Array): unknown => JSON.parse(Buffer.from(b).toString('utf8'));
const txKey = (acct: string, height: number, index: number): string =>
  `x/${acct}/${hkey(height)}/${index.toString().padStart(6, '0')}`;

/** Where the next fetch of an account's txs starts: a block height and a position in that block. */
export interface TxCursor {
  height: number;
  index: number;
}

export class LightStore {
  private constructor(private readonly db: ClassicLevel<string, Uint8Array>) {}

  static async open(dir: string): Promise<LightStore> {
    // binary values: headers and commits are kept as their canonical bytes (the bulk of a light node)
    const db = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.open();
    return new LightStore(db);
  }
  async close(): Promise<void> {
    await this.db.close();
  }

  async trust(): Promise<LightTrust | undefined> {
    const v = await this.db.get('m/trust');
    return v ? trustFromJSON(fromJson(v) as TrustJSON) : undefined;
  }

  /** Headers verified in order, stored with the new trust point in one batch. */
  async putHeaders(
    items: { height: number; header: Uint8Array; commit: Uint8Array }[],
    trust: LightTrust,
  ): Promise<void> {
    const ops: { type: 'put'; key: string; value: Uint8Array }[] = [];
    for (const it of items) {
      ops.push({ type: 'put', key: 'h/' + hkey(it.height), value: it.header });
      ops.push({ type: 'put', key: 'c/' + hkey(it.height), value: it.commit });
    }
    ops.push({ type: 'put', key: 'm/trust', value: json(trustToJSON(trust)) });
    await this.db.batch(ops);
  }

  async header(height: number): Promise<Uint8Array | undefined> {
    return (await this.db.get('h/' + hkey(height))) ?? undefined;
  }
  async commit(height: number): Promise<Uint8Array | undefined> {
    return (await this.db.get('c/' + hkey(height))) ?? undefined;
  }

  async putAccount(acct: string, value: unknown): Promise<void> {
    await this.db.put('A/' + acct, json(value));
  }
  async account(acct: string): Promise<unknown | undefined> {
    const v = await this.db.get('A/' + acct);
    return v ? fromJson(v) : undefined;
  }

  /** Txs with the account's new cursor and sent-nonce count, in one batch. */
  async putTxs(
    acct: string,
    txs: { height: number; index: number; json: unknown }[],
    cursor: TxCursor,
    sentNext: number,
  ): Promise<void> {
    const ops = txs.map((t) => ({ type: 'put' as const, key: txKey(acct, t.height, t.index), value: json(t.json) }));
    ops.push(
      { type: 'put', key: `m/cursor/${acct}`, value: json(cursor) },
      { type: 'put', key: `m/sent/${acct}`, value: json(sentNext) },
    );
    await this.db.batch(ops);
  }
  /** Fetch the account's txs again from height 1 (the kept ones stay: each was proven). */
  async restartTxSync(acct: string): Promise<void> {
    await this.db.batch([
      { type: 'put', key: `m/cursor/${acct}`, value: json({ height: 1, index: 0 }) },
      { type: 'put', key: `m/sent/${acct}`, value: json(0) },
    ]);
  }
  async sentNext(acct: string): Promise<number> {
    const v = await this.db.get(`m/sent/${acct}`);
    return v ? (fromJson(v) as number) : 0;
  }
  async txCursor(acct: string): Promise<TxCursor> {
    const v = await this.db.get(`m/cursor/${acct}`);
    if (!v) return { height: 1, index: 0 };
    const c = fromJson(v) as TxCursor | number;
    return typeof c === 'number' ? { height: c, index: 0 } : c; // (a height alone: stores written before paging inside a block)
  }
  async txs(acct: string, fromHeight: number, limit: number, fromIndex = 0): Promise<unknown[]> {
    const out: unknown[] = [];
    for await (const v of this.db.values({ gte: txKey(acct, fromHeight, fromIndex), lt: `x/${acct}0`, limit }))
      out.push(fromJson(v));
    return out;
  }
}
