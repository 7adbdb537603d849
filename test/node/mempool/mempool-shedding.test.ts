import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BacklogGate } from '../../../src/node/mempool/backlog-gate.js';
import { Mempool, type AdmitResult, type MempoolChain } from '../../../src/node/mempool/index.js';

// The fake tx of mempool.test.ts: "chain|signer|nonce|sigok|pad".
interface FakeTx {
  chainId: string;
  signer: string;
  nonce: number;
  sigOk: boolean;
}
const enc = (signer: string, nonce: number, sigOk = true): Uint8Array =>
  Buffer.from(`c1|${signer}|${nonce}|${sigOk ? 1 : 0}|`);
const signerHex = (s: string): string => Buffer.from(s.padEnd(4, '0')).toString('hex');
const summary = (rs: AdmitResult<unknown>[]): string[] => rs.map((r) => (r.ok ? 'ok' : r.code));
const api = (txs: Uint8Array[]) => txs.map((bytes) => ({ bytes, fromPeer: null }));

/** A pool whose gate the test controls (`shedding` seconds, or null), with an off-thread verifier when `offThread`. */
function setup(offThread: boolean) {
  const nonces = new Map<string, number>();
  const verified: string[] = [];
  let shedding: number | null = 7;
  const chain: MempoolChain<FakeTx> = {
    chainId: 'c1',
    txId: (b) => {
      const hash = createHash('sha256').update(b).digest();
      return { hash, hex: hash.toString('hex') };
    },
    decode: (b) => {
      const p = Buffer.from(b).toString().split('|');
      return { chainId: p[0]!, signer: p[1]!, nonce: Number(p[2]), sigOk: p[3] === '1' };
    },
    info: (t) => ({ chainId: t.chainId, signerHex: signerHex(t.signer), nonce: t.nonce }),
    verifySignature: (t) => {
      verified.push(`${t.signer}${t.nonce}`);
      return t.sigOk;
    },
    stateNonce: (s) => nonces.get(s) ?? 0,
    check: () => null,
    ...(offThread
      ? {
          verifySignatures: (items: readonly { tx: FakeTx }[]) => {
            for (const i of items) verified.push(`${i.tx.signer}${i.tx.nonce}`);
            return Promise.resolve(items.map((i) => i.tx.sigOk));
          },
        }
      : {}),
  };
  const pool = new Mempool(chain, { maxTxs: 100, maxBytes: 100_000, maxTxBytes: 100 });
  pool.shedding = () => shedding;
  const rejected: string[] = [];
  pool.onReject = (c) => rejected.push(c);
  return { pool, nonces, verified, rejected, shed: (s: number | null) => (shedding = s) };
}

describe('Mempool while the node sheds load', () => {
  it('refuses an API tx that cannot execute next, before its signature verify; takes executable ones', () => {
    const { pool, nonces, verified, rejected } = setup(false);
    nonces.set(signerHex('a'), 3);
    const gapped = pool.add(enc('a', 5));
    expect(gapped).toMatchObject({ ok: false, code: 'MEMPOOL_BUSY' });
    expect(!gapped.ok && gapped.message).toContain('retry in 7 s');
    expect(verified).toEqual([]); // refused before any verify
    expect(rejected).toEqual(['MEMPOOL_BUSY']);
    // the account's next nonce, then the one after it (it follows a pending tx): both executable
    expect(pool.add(enc('a', 3)).ok).toBe(true);
    expect(pool.add(enc('a', 4)).ok).toBe(true);
    expect(pool.add(enc('a', 5)).ok).toBe(true);
    expect(pool.gappedSize).toBe(0);
  });

  it('answers a nonce past the future-nonce bound MEMPOOL_BUSY while shedding (its missing nonces may be the refused ones), 422 after', () => {
    const { pool, shed } = setup(false);
    const far = pool.add(enc('a', 65)); // default MEMPOOL_FUTURE_NONCES_MAX = 64 above next 0
    expect(far).toMatchObject({ ok: false, code: 'MEMPOOL_BUSY' });
    shed(null);
    expect(pool.add(enc('a', 65))).toMatchObject({ ok: false, code: 'NONCE_TOO_FAR_AHEAD' });
  });

  it('still takes gapped txs from gossip, and from the API once the gate no longer refuses', () => {
    const { pool, shed } = setup(false);
    expect(pool.add(enc('a', 2), 'peer1').ok).toBe(true); // its origin node admitted (and proposes) it
    expect(pool.add(enc('b', 1))).toMatchObject({ ok: false, code: 'MEMPOOL_BUSY' });
    shed(null);
    expect(pool.add(enc('b', 1)).ok).toBe(true); // not shedding: a gapped tx waits in the pool, as before
    expect(pool.gappedSize).toBe(2);
  });

  it('in a batch, counts the batch own earlier nonces and refuses the account rest after a refused one', async () => {
    for (const offThread of [false, true]) {
      const { pool } = setup(offThread);
      const batch = [
        enc('a', 0),
        enc('a', 1),
        enc('a', 2), // an account's run from its next nonce: all taken
        enc('b', 1),
        enc('b', 2), // b's nonce 0 is not pending: neither is taken
        enc('c', 0, false),
        enc('c', 1), // c's nonce 0 fails its verify: the rest of c would only wait for it
      ];
      expect(summary(await pool.admitMany(api(batch)))).toEqual([
        'ok',
        'ok',
        'ok',
        'MEMPOOL_BUSY',
        'MEMPOOL_BUSY',
        'BAD_SIGNATURE',
        'MEMPOOL_BUSY',
      ]);
      expect(pool.gappedSize).toBe(0);
      expect(pool.executableSize).toBe(3);
    }
  });
});

describe('BacklogGate.shedding', () => {
  it('lasts from a refusal until the Retry-After it gave has passed', () => {
    let t = 0;
    const gate = new BacklogGate({ targetMs: 1_500, floorTxs: 500, maxTxs: 20_000 }, () => t);
    for (let i = 0; i < 20; i++) {
      t += 500;
      gate.onCommitted(1_000); // 2,000 tx/s: the bound is 3,000 pending txs
    }
    expect(gate.room(2_500).room).toBe(500);
    expect(gate.shedding()).toBeNull(); // room was given: nobody refused
    const refused = gate.room(7_000); // 4,001 over the bound at 2,000 tx/s: come back in 3 s
    expect(refused).toMatchObject({ room: 0, retryAfterSeconds: 3 });
    expect(gate.shedding()).toBe(3);
    t += 1_500;
    expect(gate.room(0).room).toBeGreaterThan(0); // room again, but the refused client is not back yet
    expect(gate.shedding()).toBe(2);
    t += 1_500;
    expect(gate.shedding()).toBeNull();
  });

  it("starts when a batch's tail is refused, not only when nothing is left", () => {
    let t = 0;
    const gate = new BacklogGate({ targetMs: 1_500, floorTxs: 500, maxTxs: 20_000 }, () => t);
    for (let i = 0; i < 20; i++) {
      t += 500;
      gate.onCommitted(1_000); // bound 3,000
    }
    expect(gate.room(2_500, 500).room).toBe(500); // all 500 fit
    expect(gate.shedding()).toBeNull();
    const part = gate.room(2_800, 500); // 200 of 500 fit: the other 300 come back after Retry-After
    expect(part.room).toBe(200);
    expect(gate.shedding()).toBe(part.retryAfterSeconds);
  });

  it('wired to the pool: a tx that waits for a refused lower nonce is refused too, until that client is due back', () => {
    let t = 0;
    const gate = new BacklogGate({ targetMs: 1_500, floorTxs: 2, maxTxs: 100 }, () => t);
    const { pool } = setup(false);
    pool.shedding = () => gate.shedding();
    expect(gate.room(pool.executableSize).room).toBe(2);
    expect(pool.add(enc('x', 0)).ok).toBe(true);
    expect(pool.add(enc('y', 0)).ok).toBe(true);
    expect(gate.room(pool.executableSize).room).toBe(0); // a's nonce 0 is refused
    expect(pool.add(enc('a', 1))).toMatchObject({ ok: false, code: 'MEMPOOL_BUSY' });
    t += 5_000; // the Retry-After of a chain that commits nothing (RETRY_AFTER_MAX_S)
    expect(pool.add(enc('a', 1)).ok).toBe(true);
  });
});
