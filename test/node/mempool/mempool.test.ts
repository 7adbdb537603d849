import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { Mempool, type MempoolChain, decodeTxBatch, encodeTxBatch } from '../../../src/node/mempool/index.js';

// A fake tx: "chain|signer|nonce|sigok|pad"
interface FakeTx {
  chainId: string;
  signer: string;
  nonce: number;
  sigOk: boolean;
}
const enc = (t: FakeTx, pad = ''): Uint8Array =>
  Buffer.from(`${t.chainId}|${t.signer}|${t.nonce}|${t.sigOk ? 1 : 0}|${pad}`);

function setup(limits = { maxTxs: 10, maxBytes: 10_000, maxTxBytes: 100 }) {
  const nonces = new Map<string, number>();
  let verifies = 0;
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
    info: (t) => ({
      chainId: t.chainId,
      signerHex: Buffer.from(t.signer.padEnd(4, '0')).toString('hex'),
      nonce: t.nonce,
    }),
    verifySignature: (t) => {
      verifies++;
      return t.sigOk;
    },
    stateNonce: (s) => nonces.get(s) ?? 0,
    check: () => null,
  };
  const pool = new Mempool(chain, limits);
  const signerHex = (s: string): string => Buffer.from(s.padEnd(4, '0')).toString('hex');
  return { pool, nonces, signerHex, verifies: () => verifies };
}

describe('Mempool', () => {
  it('gives a reason code for every refusal', () => {
    const { pool, nonces, signerHex } = setup();
    const rejected: string[] = [];
    pool.onReject = (c) => rejected.push(c);
    nonces.set(signerHex('a'), 2);
    expect(pool.add(enc({ chainId: 'c1', signer: 'a', nonce: 2, sigOk: true }, 'x'.repeat(200)))).toMatchObject({
      ok: false,
      code: 'TX_TOO_LARGE',
    });
    expect(pool.add(Buffer.from('garbage'))).toMatchObject({ ok: false, code: 'CODEC_TRUNCATED' });
    expect(pool.add(enc({ chainId: 'c2', signer: 'a', nonce: 2, sigOk: true }))).toMatchObject({
      ok: false,
      code: 'WRONG_CHAIN',
    });
    expect(pool.add(enc({ chainId: 'c1', signer: 'a', nonce: 2, sigOk: false }))).toMatchObject({
      ok: false,
      code: 'BAD_SIGNATURE',
    });
    expect(pool.add(enc({ chainId: 'c1', signer: 'a', nonce: 1, sigOk: true }))).toMatchObject({
      ok: false,
      code: 'BAD_NONCE',
    });
    expect(pool.add(enc({ chainId: 'c1', signer: 'a', nonce: 2, sigOk: true }))).toMatchObject({
      ok: true,
      duplicate: false,
    });
    expect(pool.add(enc({ chainId: 'c1', signer: 'a', nonce: 2, sigOk: true }))).toMatchObject({
      ok: true,
      duplicate: true,
    });
    expect(pool.add(enc({ chainId: 'c1', signer: 'a', nonce: 2, sigOk: true }, 'other'))).toMatchObject({
      ok: false,
      code: 'BAD_NONCE',
    });
    expect(rejected).toEqual([
      'TX_TOO_LARGE',
      'CODEC_TRUNCATED',
      'WRONG_CHAIN',
      'BAD_SIGNATURE',
      'BAD_NONCE',
      'BAD_NONCE',
    ]);
    expect(pool.size).toBe(1);
  });

  it('enforces count and byte caps', () => {
    const { pool } = setup({ maxTxs: 2, maxBytes: 10_000, maxTxBytes: 100 });
    for (let i = 0; i < 2; i++)
      expect(pool.add(enc({ chainId: 'c1', signer: 's' + i, nonce: 0, sigOk: true })).ok).toBe(true);
    expect(pool.add(enc({ chainId: 'c1', signer: 'z', nonce: 0, sigOk: true }))).toMatchObject({
      ok: false,
      code: 'MEMPOOL_FULL',
    });
  });

  it('reaps contiguous nonce runs in order, removes committed and stale txs, verifies once', () => {
    const { pool, nonces, signerHex, verifies } = setup();
    for (const n of [1, 0, 3]) pool.add(enc({ chainId: 'c1', signer: 'a', nonce: n, sigOk: true }));
    pool.add(enc({ chainId: 'c1', signer: 'b', nonce: 0, sigOk: true }));
    const reaped = pool.reap(100, 100_000);
    expect(reaped.map((e) => `${e.signer === signerHex('a') ? 'a' : 'b'}${e.nonce}`)).toEqual(['a0', 'a1', 'b0']);
    expect(pool.reap(2, 100_000)).toHaveLength(2);
    expect(verifies()).toBe(4);
    nonces.set(signerHex('a'), 2);
    pool.onCommitted([reaped[0]!.hashHex], [signerHex('a')]); // a1 became stale through the state nonce
    expect(pool.size).toBe(2);
    expect(pool.verified.has(reaped[0]!.hashHex)).toBe(false); // committed: its cached verification is dropped
    expect(pool.verified.has(reaped[2]!.hashHex)).toBe(true); // b0 is still pending
    // a late gossip copy of the committed tx is refused on its nonce, without verifying again
    nonces.set(signerHex('a'), 4);
    expect(pool.add(enc({ chainId: 'c1', signer: 'a', nonce: 0, sigOk: true }))).toMatchObject({
      ok: false,
      code: 'BAD_NONCE',
    });
    expect(verifies()).toBe(4);
  });

  it('tx batches round-trip and reject truncation/trailing bytes', () => {
    const txs = [Buffer.from('a'), Buffer.alloc(0), Buffer.from('ccc')];
    const b = encodeTxBatch(txs);
    expect(decodeTxBatch(b).map((x) => Buffer.from(x).toString())).toEqual(['a', '', 'ccc']);
    expect(() => decodeTxBatch(b.subarray(0, b.length - 1))).toThrow();
    expect(() => decodeTxBatch(Buffer.concat([b, Buffer.from([0])]))).toThrow();
  });
});
