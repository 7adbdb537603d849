import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { Mempool, type MempoolChain, type MempoolLimits } from '../../../src/node/mempool/index.js';

/**
 * The rules that keep the mempool from being wedged by txs with nonce gaps: nonce checks before
 * the room check, bounded future nonces, eviction of gapped txs by executable / gap-closing ones
 * (highest nonce of the account with the largest gap first), caps per account and per gossiping
 * peer, and expiry driven by the clock passed in.
 */

// A fake tx: "chain|signer|nonce|sigok|pad"
interface FakeTx {
  chainId: string;
  signer: string;
  nonce: number;
  sigOk: boolean;
}
const hexOf = (s: string): string => Buffer.from(s.padEnd(4, '0')).toString('hex');

function setup(limits: Partial<MempoolLimits> = {}) {
  const nonces = new Map<string, number>();
  let verifies = 0;
  let clock = 0;
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
    info: (t) => ({ chainId: t.chainId, signerHex: hexOf(t.signer), nonce: t.nonce }),
    verifySignature: (t) => {
      verifies++;
      return t.sigOk;
    },
    stateNonce: (s) => nonces.get(s) ?? 0,
    check: () => null,
  };
  const pool = new Mempool(chain, { maxTxs: 100, maxBytes: 100_000, maxTxBytes: 100, ...limits }, () => clock);
  const reasons: string[] = [];
  pool.onReject = (c) => reasons.push(c);
  const tx = (signer: string, nonce: number, pad = ''): Uint8Array => Buffer.from(`c1|${signer}|${nonce}|1|${pad}`);
  const add = (signer: string, nonce: number, peer: string | null = null) => pool.add(tx(signer, nonce), peer);
  /** The pool's txs as "signer+nonce", sorted. */
  const contents = (): string[] => {
    const out: string[] = [];
    for (const s of 'abcdefghijklmnopqrstuvwxyz')
      for (let n = 0; n < 300; n++)
        if (pool.has(createHash('sha256').update(tx(s, n)).digest('hex'))) out.push(`${s}${n}`);
    return out.sort();
  };
  const reaped = (): string[] =>
    pool
      .reap(1000, 1_000_000)
      .map((e) => `${Buffer.from(e.signer, 'hex').toString()[0]}${e.nonce}`)
      .sort();
  const count = (code: string): number => reasons.filter((c) => c === code).length;
  return {
    pool,
    nonces,
    reasons,
    add,
    tx,
    contents,
    reaped,
    count,
    setNonce: (s: string, n: number) => nonces.set(hexOf(s), n),
    verifies: () => verifies,
    tick: (ms: number) => {
      clock += ms;
    },
  };
}

describe('Mempool: nonce gaps cannot wedge it', () => {
  it('checks nonces before the room: a full pool still answers BAD_NONCE / NONCE_TOO_FAR_AHEAD, not MEMPOOL_FULL', () => {
    const m = setup({ maxTxs: 2 });
    expect(m.add('b', 0).ok).toBe(true);
    expect(m.add('c', 0).ok).toBe(true);
    m.setNonce('a', 3);
    expect(m.add('a', 1)).toMatchObject({ ok: false, code: 'BAD_NONCE' });
    expect(m.add('b', 0, 'peer')).toMatchObject({ ok: true, duplicate: true }); // a resubmission is not refused either
    expect(m.add('a', 3 + 65)).toMatchObject({ ok: false, code: 'NONCE_TOO_FAR_AHEAD' });
    expect(m.reasons).toEqual(['BAD_NONCE', 'NONCE_TOO_FAR_AHEAD']);
  });

  it('refuses a nonce more than futureNoncesMax above the next executable nonce (state nonce + pending run)', () => {
    const d = setup();
    expect(d.add('a', 65)).toMatchObject({ ok: false, code: 'NONCE_TOO_FAR_AHEAD' }); // default MEMPOOL_FUTURE_NONCES_MAX = 64
    expect(d.add('a', 64).ok).toBe(true);

    const m = setup({ futureNoncesMax: 4 });
    expect(m.add('a', 5)).toMatchObject({ ok: false, code: 'NONCE_TOO_FAR_AHEAD' });
    expect(m.add('a', 4).ok).toBe(true);
    for (const n of [0, 1, 2]) expect(m.add('a', n).ok).toBe(true); // next executable nonce is now 3
    expect(m.add('a', 7).ok).toBe(true);
    const r = m.add('a', 8);
    expect(r).toMatchObject({ ok: false, code: 'NONCE_TOO_FAR_AHEAD' });
    expect(r.ok ? '' : r.message).toMatch(/next executable nonce 3/);
    m.setNonce('a', 10); // state moved on: the window moves with it
    m.pool.recheckAll();
    expect(m.add('a', 14).ok).toBe(true);
  });

  it('an executable or gap-closing tx evicts a gapped one instead of being refused; a gapped tx only evicts one missing more nonces', () => {
    const m = setup({ maxTxs: 4 });
    // x: 1,2 (1 nonce missing); y: 5 (5 missing); z: 3 (3 missing)
    for (const [s, n] of [
      ['x', 1],
      ['x', 2],
      ['y', 5],
      ['z', 3],
    ] as const)
      expect(m.add(s, n).ok).toBe(true);
    const v0 = m.verifies();
    // a gapped tx missing as many nonces as the worst one is refused, before its signature is verified
    expect(m.add('w', 5)).toMatchObject({ ok: false, code: 'MEMPOOL_FULL' });
    expect(m.verifies()).toBe(v0);
    // an executable tx takes the place of the tx missing the most nonces (y5), then z3
    expect(m.add('h', 0)).toMatchObject({ ok: true });
    expect(m.contents()).toEqual(['h0', 'x1', 'x2', 'z3']);
    // a gapped tx missing fewer nonces (2) than the worst (z3: 3) evicts it
    expect(m.add('w', 2)).toMatchObject({ ok: true });
    expect(m.contents()).toEqual(['h0', 'w2', 'x1', 'x2']);
    // z0 (executable again) evicts w2 (2 missing)
    expect(m.add('z', 0)).toMatchObject({ ok: true });
    expect(m.contents()).toEqual(['h0', 'x1', 'x2', 'z0']);
    // x's txs go from the highest nonce
    expect(m.add('h', 1)).toMatchObject({ ok: true });
    expect(m.contents()).toEqual(['h0', 'h1', 'x1', 'z0']);
    expect(m.count('EVICTED')).toBe(4);
    // nothing gapped is left but x1: x's gap-filler is still admitted (x1 makes room)
    expect(m.add('x', 0)).toMatchObject({ ok: true });
    // only executable txs: the pool is full for real
    expect(m.add('q', 0)).toMatchObject({ ok: false, code: 'MEMPOOL_FULL' });
    expect(m.reaped()).toEqual(['h0', 'h1', 'x0', 'z0']);
  });

  it('eviction takes the highest nonce of the account with the largest gap and never breaks an executable run', () => {
    const m = setup({ maxTxs: 6 });
    for (const n of [0, 1, 2, 5, 6]) expect(m.add('a', n).ok).toBe(true); // a: 0-2 executable, 5,6 gapped (2 missing)
    expect(m.add('b', 3).ok).toBe(true); // b: 3 missing
    expect(m.add('c', 0).ok).toBe(true); // evicts b3
    expect(m.contents()).toEqual(['a0', 'a1', 'a2', 'a5', 'a6', 'c0']);
    expect(m.add('c', 1).ok).toBe(true); // evicts a6 (not a5: no new hole)
    expect(m.contents()).toEqual(['a0', 'a1', 'a2', 'a5', 'c0', 'c1']);
    expect(m.add('c', 2).ok).toBe(true); // evicts a5
    expect(m.add('c', 3)).toMatchObject({ ok: false, code: 'MEMPOOL_FULL' });
    expect(m.reaped()).toEqual(['a0', 'a1', 'a2', 'c0', 'c1', 'c2']);
    expect(m.pool.gappedSize).toBe(0);
  });

  it('caps the pending txs of one account; at the cap its gap-filler evicts its own highest gapped tx', () => {
    const m = setup({ accountMaxTxs: 3 });
    for (const n of [0, 2, 3]) expect(m.add('a', n).ok).toBe(true);
    expect(m.add('a', 4)).toMatchObject({ ok: false, code: 'ACCOUNT_MEMPOOL_FULL' });
    expect(m.add('a', 1)).toMatchObject({ ok: true }); // closes the gap: a3 makes room
    expect(m.contents()).toEqual(['a0', 'a1', 'a2']);
    expect(m.add('a', 3)).toMatchObject({ ok: false, code: 'ACCOUNT_MEMPOOL_FULL' }); // all executable: wait for blocks
    expect(m.add('b', 0).ok).toBe(true); // other accounts are not affected
    expect(m.reaped()).toEqual(['a0', 'a1', 'a2', 'b0']);
    m.setNonce('a', 3);
    m.pool.onCommitted([], [hexOf('a')]);
    expect(m.add('a', 3).ok).toBe(true);
  });

  it('caps what gossip from one peer may occupy; its executable txs still displace its gapped ones', () => {
    const m = setup({ maxTxs: 10, peerMaxTxs: 3 });
    for (const s of ['x', 'y', 'z']) expect(m.add(s, 1, 'P').ok).toBe(true);
    expect(m.add('w', 1, 'P')).toMatchObject({ ok: false, code: 'PEER_MEMPOOL_FULL' });
    expect(m.pool.peerSize('P')).toBe(3);
    expect(m.add('w', 1, 'Q').ok).toBe(true); // another peer
    expect(m.add('v', 1, null).ok).toBe(true); // this node's API
    expect(m.add('u', 0, 'P')).toMatchObject({ ok: true }); // executable from P: evicts one of P's gapped txs
    expect(m.pool.peerSize('P')).toBe(3);
    expect(m.pool.size).toBe(5);
    expect(m.count('EVICTED')).toBe(1);
    expect(m.count('PEER_MEMPOOL_FULL')).toBe(1);
  });

  it('expires pending txs after the TTL (driven by admissions, reaping and commits, no timer) and takes the same bytes again', () => {
    const m = setup({ txTtlMs: 1_000 });
    expect(m.add('a', 1).ok).toBe(true); // gapped forever: nonce 0 never comes
    m.tick(500);
    expect(m.add('b', 0).ok).toBe(true);
    m.tick(500); // a1 is 1000 ms old
    expect(m.add('c', 0).ok).toBe(true);
    expect(m.contents()).toEqual(['b0', 'c0']);
    expect(m.count('TX_EXPIRED')).toBe(1);
    m.tick(500); // b0 is due
    expect(m.reaped()).toEqual(['c0']);
    m.tick(500); // c0 is due
    m.pool.onCommitted([], []);
    expect(m.pool.size).toBe(0);
    expect(m.count('TX_EXPIRED')).toBe(3);
    // the client resubmits the same bytes: admitted again, as new
    expect(m.pool.add(m.tx('a', 1))).toMatchObject({ ok: true, duplicate: false });
  });

  it('reaps the txs that waited longest first, each with its account run, when a block cannot take all', () => {
    const m = setup();
    const order = (max: number): string[] =>
      m.pool.reap(max, 1_000_000).map((e) => `${Buffer.from(e.signer, 'hex').toString()[0]}${e.nonce}`);
    expect(m.add('a', 0).ok).toBe(true);
    expect(m.add('b', 0).ok).toBe(true);
    expect(m.add('a', 1).ok).toBe(true); // after b0
    expect(m.add('c', 1).ok).toBe(true); // gapped: never reaped
    expect(m.add('c', 0).ok).toBe(true); // its run comes with it
    expect(order(10)).toEqual(['a0', 'a1', 'b0', 'c0', 'c1']);
    // a0 commits; a still has a1 pending, admitted after b0: b0 has waited longer
    m.setNonce('a', 1);
    m.pool.onCommitted([createHash('sha256').update(m.tx('a', 0)).digest('hex')], [hexOf('a')]);
    expect(order(1)).toEqual(['b0']);
    expect(order(2)).toEqual(['b0', 'a1']);
  });

  it('an expired executable tx leaves its later txs waiting (not reaped) until it is resubmitted', () => {
    const m = setup({ txTtlMs: 1_000 });
    expect(m.add('d', 0).ok).toBe(true);
    m.tick(600);
    expect(m.add('d', 1).ok).toBe(true);
    m.tick(400);
    expect(m.reaped()).toEqual([]); // d0 expired, d1 waits for it
    expect(m.pool.gappedSize).toBe(1);
    expect(m.add('d', 0).ok).toBe(true);
    expect(m.reaped()).toEqual(['d0', 'd1']);
  });

  it('a flood of gapped txs from many accounts never keeps an executable tx out', () => {
    const m = setup({ maxTxs: 50 });
    const accts = 'abcdefghijklmnop'.split('');
    for (const s of accts) for (let n = 1; n <= 64; n++) m.add(s, n);
    expect(m.pool.size).toBe(50);
    // honest txs: executable ones, and gap-fillers of flooded accounts
    for (const s of 'qrstuvwxyz') expect(m.add(s, 0)).toMatchObject({ ok: true });
    expect(m.add('a', 0)).toMatchObject({ ok: true });
    expect(m.pool.size).toBe(50);
    const reaped = m.reaped();
    for (const s of 'qrstuvwxyza') expect(reaped).toContain(`${s}0`);
    expect(reaped).toContain('a1'); // a's gap is closed: its remaining txs became executable
  });

  it('counts executable txs (what load shedding weighs) in step with gaps opening, closing, expiring and committing', () => {
    const m = setup({ txTtlMs: 1_000 });
    // the invariant, checked against the reapable set after every step
    const check = (): void => {
      expect(m.pool.executableSize).toBe(m.reaped().length);
      expect(m.pool.gappedSize).toBe(m.pool.size - m.reaped().length);
    };
    m.add('a', 0);
    m.add('a', 2);
    m.add('a', 3);
    m.add('b', 1);
    check();
    expect(m.pool.executableSize).toBe(1);
    m.add('a', 1); // closes a's gap
    m.add('b', 0);
    check();
    expect(m.pool.executableSize).toBe(6);
    m.tick(600);
    m.add('c', 0);
    m.tick(600); // a and b expire; c stays
    m.pool.expire();
    check();
    expect(m.pool.executableSize).toBe(1);
    m.add('c', 2);
    m.add('c', 3);
    check();
    m.setNonce('c', 1); // c0 committed
    const c0 = createHash('sha256').update(m.tx('c', 0)).digest('hex');
    m.pool.onCommitted([c0], [hexOf('c')]);
    check();
    expect(m.pool.executableSize).toBe(0); // c2 and c3 wait for c1
    m.add('c', 1);
    check();
    expect(m.pool.executableSize).toBe(3);
  });
});
