import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeTx,
  decodeTxShared,
  pkHexOf,
  txIdShared,
  verifyEncodedTxSignature,
  type Tx,
} from '../../../src/chain/index.js';
import { Mempool, type AdmitResult, type MempoolChain, type MempoolLimits } from '../../../src/node/mempool/index.js';
import { VerifyPool, verifyTxSignatures } from '../../../src/node/verify-pool/index.js';
import { key, stx } from '../../chain/fixtures.js';

// The fake tx of mempool.test.ts: "chain|signer|nonce|sigok|pad".
interface FakeTx {
  chainId: string;
  signer: string;
  nonce: number;
  sigOk: boolean;
}
const enc = (signer: string, nonce: number, sigOk = true, chainId = 'c1', pad = ''): Uint8Array =>
  Buffer.from(`${chainId}|${signer}|${nonce}|${sigOk ? 1 : 0}|${pad}`);
const signerHex = (s: string): string => Buffer.from(s.padEnd(4, '0')).toString('hex');

/** A verifier whose answers the test releases: each call waits until release() (or fail()). */
function gatedVerifier() {
  const calls: { items: FakeTx[]; release: () => void; fail: (e: Error) => void }[] = [];
  const verify = (items: readonly { tx: FakeTx; bytes: Uint8Array }[]): Promise<boolean[]> =>
    new Promise((resolve, reject) => {
      calls.push({
        items: items.map((i) => i.tx),
        release: () => resolve(items.map((i) => i.tx.sigOk)),
        fail: reject,
      });
    });
  return { calls, verify };
}

function setup(
  limits: MempoolLimits = { maxTxs: 100, maxBytes: 100_000, maxTxBytes: 100 },
  verifySignatures?: MempoolChain<FakeTx>['verifySignatures'],
) {
  const nonces = new Map<string, number>();
  let inlineVerifies = 0;
  const chain: MempoolChain<FakeTx> = {
    chainId: 'c1',
    txId: (b) => {
      const hash = createHash('sha256').update(b).digest();
      return { hash, hex: hash.toString('hex') };
    },
    decode: (b) => {
      const p = Buffer.from(b).toString().split('|');
      if (p.length !== 5) throw Object.assign(new Error('bad'), { code: 'CODEC_TRUNCATED' });
      return { chainId: p[0]!, signer: p[1]!, nonce: Number(p[2]), sigOk: p[3] === '1' };
    },
    info: (t) => ({ chainId: t.chainId, signerHex: signerHex(t.signer), nonce: t.nonce }),
    verifySignature: (t) => {
      inlineVerifies++;
      return t.sigOk;
    },
    stateNonce: (s) => nonces.get(s) ?? 0,
    check: () => null,
    ...(verifySignatures ? { verifySignatures } : {}),
  };
  const pool = new Mempool(chain, limits);
  const rejected: string[] = [];
  pool.onReject = (c) => rejected.push(c);
  return { pool, nonces, rejected, inlineVerifies: () => inlineVerifies };
}

const hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const summary = (rs: AdmitResult<unknown>[]): string[] => rs.map((r) => (r.ok ? 'ok' : r.code));
/** Waits until `cond` holds, one event-loop turn at a time. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  expect(cond()).toBe(true);
}

describe('Mempool: admission with the signature verify off the main thread', () => {
  it('verifies only what passed the cheap checks, and caches only hashes that verified', async () => {
    const g = gatedVerifier();
    const { pool, nonces, rejected, inlineVerifies } = setup(
      { maxTxs: 3, maxBytes: 100_000, maxTxBytes: 40 },
      g.verify,
    );
    nonces.set(signerHex('a'), 1);
    const good = enc('b', 0);
    const bad = enc('c', 0, false);
    const items = [
      enc('a', 0), // nonce used
      enc('a', 1, true, 'c2'), // other chain
      enc('a', 1, true, 'c1', 'x'.repeat(50)), // too large
      good,
      bad,
      Buffer.from('garbage'),
    ].map((bytes) => ({ bytes, fromPeer: null }));
    const done = pool.admitMany(items);
    await until(() => g.calls.length === 1);
    expect(g.calls[0]!.items.map((t) => t.signer)).toEqual(['b', 'c']); // one batch, cheap refusals never verified
    expect(pool.size).toBe(0); // nothing admitted before its signature verified
    g.calls[0]!.release();
    expect(summary(await done)).toEqual([
      'BAD_NONCE',
      'WRONG_CHAIN',
      'TX_TOO_LARGE',
      'ok',
      'BAD_SIGNATURE',
      'CODEC_TRUNCATED',
    ]);
    expect(pool.verified.has(hex(good))).toBe(true);
    expect(pool.verified.has(hex(bad))).toBe(false);
    expect(pool.has(hex(good))).toBe(true);
    expect(rejected.sort()).toEqual(['BAD_NONCE', 'BAD_SIGNATURE', 'CODEC_TRUNCATED', 'TX_TOO_LARGE', 'WRONG_CHAIN']); // once each
    expect(inlineVerifies()).toBe(0);
  });

  it('refuses cleanly a tx whose nonce was taken while it was being verified', async () => {
    const g = gatedVerifier();
    const { pool, nonces, rejected } = setup(undefined, g.verify);
    const mine = enc('a', 0, true, 'c1', 'mine');
    const pending = pool.addAsync(mine);
    await until(() => g.calls.length === 1);
    const other = pool.add(enc('a', 0, true, 'c1', 'other')); // meanwhile another tx takes nonce 0
    expect(other.ok).toBe(true);
    g.calls[0]!.release();
    expect(await pending).toMatchObject({ ok: false, code: 'BAD_NONCE' });
    expect(pool.size).toBe(1);
    expect(pool.has(hex(mine))).toBe(false);
    expect(pool.verified.has(hex(mine))).toBe(true); // it did verify, against these very bytes
    expect(rejected).toEqual(['BAD_NONCE']);

    // and when a block commits its nonce meanwhile
    const late = pool.addAsync(enc('b', 0));
    await until(() => g.calls.length === 2);
    nonces.set(signerHex('b'), 1);
    g.calls[1]!.release();
    expect(await late).toMatchObject({ ok: false, code: 'BAD_NONCE' });
  });

  it('gives the results of sequential add() for a batch, also where earlier txs of the batch lift a refusal', async () => {
    const limits = { maxTxs: 80, maxBytes: 100_000, maxTxBytes: 100, futureNoncesMax: 8, accountMaxTxs: 70 };
    // 75 nonces of one account (beyond futureNoncesMax and accountMaxTxs), one with a bad signature,
    // a gap-closer after gapped txs, a duplicate and a second tx for a taken nonce
    const batch: Uint8Array[] = [];
    for (let n = 0; n < 75; n++) batch.push(enc('a', n, n !== 40));
    batch.push(enc('b', 2), enc('b', 1), enc('b', 0), enc('b', 0), enc('b', 1, true, 'c1', 'again'));
    const seq = setup(limits);
    const expected = summary(batch.map((b) => seq.pool.add(b)));
    const par = setup(limits, (items) => Promise.resolve(items.map((i) => i.tx.sigOk)));
    expect(summary(await par.pool.admitMany(batch.map((bytes) => ({ bytes, fromPeer: null }))))).toEqual(expected);
    expect(par.pool.size).toBe(seq.pool.size);
    expect(par.rejected.sort()).toEqual(seq.rejected.sort());
    expect(expected.filter((r) => r === 'ok').length).toBeGreaterThan(40); // the case is not trivial
  });

  it('refuses BUSY, admitting and caching nothing, when the verifier cannot take the batch', async () => {
    const g = gatedVerifier();
    const { pool, rejected } = setup(undefined, g.verify);
    const tx = enc('a', 0);
    const pending = pool.addAsync(tx);
    await until(() => g.calls.length === 1);
    g.calls[0]!.fail(new Error('queue full'));
    expect(await pending).toMatchObject({ ok: false, code: 'BUSY' });
    expect(pool.size).toBe(0);
    expect(pool.verified.has(hex(tx))).toBe(false);
    expect(rejected).toEqual(['BUSY']);
  });

  it('refuses API txs MEMPOOL_BUSY, and says so, when their verify found no worker in time (VERIFY_LATE)', async () => {
    const g = gatedVerifier();
    const { pool, rejected } = setup(undefined, g.verify);
    const late: number[] = [];
    pool.onVerifyLate = (n) => late.push(n);
    const txs = [enc('a', 0), enc('b', 0)];
    const pending = pool.admitMany(txs.map((bytes) => ({ bytes, fromPeer: null })));
    await until(() => g.calls.length === 1);
    g.calls[0]!.fail(Object.assign(new Error('did not start within 500 ms'), { code: 'VERIFY_LATE' }));
    const rs = await pending;
    expect(summary(rs)).toEqual(['MEMPOOL_BUSY', 'MEMPOOL_BUSY']);
    expect(late).toEqual([2]);
    expect(pool.size).toBe(0);
    expect(rejected).toEqual(['MEMPOOL_BUSY', 'MEMPOOL_BUSY']);
  });

  it('without an off-thread verifier admits inline, as add()', async () => {
    const { pool, inlineVerifies } = setup();
    expect(pool.verifiesOffThread).toBe(false);
    expect(summary(await pool.admitMany([{ bytes: enc('a', 0), fromPeer: null }]))).toEqual(['ok']);
    expect(inlineVerifies()).toBe(1);
  });
});

describe('Mempool with the real verify pool', () => {
  const pools: VerifyPool[] = [];
  afterEach(async () => {
    for (const p of pools.splice(0)) await p.close();
  });

  it('admits real txs whose signatures verify in the pool and refuses a tampered one', async () => {
    const vp = new VerifyPool({ workers: 1 });
    pools.push(vp);
    const chain: MempoolChain<Tx> = {
      chainId: 'test-chain',
      txId: txIdShared,
      decode: decodeTxShared,
      info: (t) => ({ chainId: t.chainId, signerHex: pkHexOf(t.signer), nonce: t.nonce }),
      verifySignature: () => {
        throw new Error('no inline verify expected');
      },
      verifySignatures: (items, priority) => verifyTxSignatures(vp, items, priority),
      stateNonce: () => 0,
      check: () => null,
    };
    const pool = new Mempool<Tx>(chain, { maxTxs: 100, maxBytes: 1 << 20, maxTxBytes: 4096 });
    const good = [1, 2, 3].map((k) => stx(key(k), 0, { type: 'create_account' }));
    const tampered = Uint8Array.from(stx(key(4), 0, { type: 'create_account' }));
    tampered[tampered.length - 2]! ^= 1;
    expect(verifyEncodedTxSignature(tampered, decodeTx(tampered))).toBe(false);
    const rs = await pool.admitMany([...good, tampered].map((bytes) => ({ bytes, fromPeer: 'peer' })));
    expect(summary(rs)).toEqual(['ok', 'ok', 'ok', 'BAD_SIGNATURE']);
    for (const g of good) expect(pool.verified.has(txIdShared(g).hex)).toBe(true);
    expect(pool.verified.has(txIdShared(tampered).hex)).toBe(false);
    expect(vp.stats.items).toBe(4);
  });
});
