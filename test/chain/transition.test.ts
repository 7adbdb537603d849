import { describe, expect, it } from 'vitest';
import {
  WorldState,
  executeBlock,
  checkTx,
  decodeTx,
  getBalance,
  getAsset,
  getAccount,
  getAnchor,
  txHash,
  toHex,
  type Tx,
} from '../../src/chain/index.js';
import { makeFixture, stx, block, key, CHAIN } from './fixtures.js';

function setup(params = {}) {
  const f = makeFixture(3, params);
  return { f, s: WorldState.fromGenesis(f.genesis) };
}
function codes(s: WorldState, txs: Uint8Array[], opts = {}): string[] {
  return executeBlock(s, block(txs), opts).results.map((r) => r.code);
}

describe('state transition: payments', () => {
  it('executes on an overlay and applies on commit', () => {
    const { f, s } = setup();
    const before = s.root();
    const exec = executeBlock(
      s,
      block([
        stx(f.bob, 0, { type: 'create_account' }),
        stx(f.alice, 0, { type: 'transfer', asset: 'USD', to: f.bob.publicKey, amount: 100n }),
      ]),
    );
    expect(exec.results.map((r) => r.code)).toEqual(['OK', 'OK']);
    expect(s.root()).toEqual(before); // not mutated until commit
    expect(getBalance(s, f.bob.publicKey, 'USD')).toBe(0n);
    expect(s.commit(exec)).toEqual(exec.stateRoot);
    expect(getBalance(s, f.bob.publicKey, 'USD')).toBe(100n);
    expect(getBalance(s, f.alice.publicKey, 'USD')).toBe(900n);
    expect(getAccount(s, f.alice.publicKey)?.nonce).toBe(1);
    expect(getAccount(s, f.bob.publicKey)?.nonce).toBe(1);
  });

  it('is deterministic: same block on two states gives the same root, with or without the precomputed tree', () => {
    const { f, s } = setup();
    const c = s.clone();
    const b = block([
      stx(f.bob, 0, { type: 'create_account' }),
      stx(f.alice, 0, { type: 'transfer', asset: 'USD', to: f.bob.publicKey, amount: 7n }),
    ]);
    const e1 = executeBlock(s, b);
    const e2 = executeBlock(c, b);
    expect(e1.stateRoot).toEqual(e2.stateRoot);
    s.commit(e1);
    c.commit(e2.writes);
    expect(s.root()).toEqual(c.root());
    expect(WorldState.fromEntries(s.entries()).root()).toEqual(s.root());
  });

  it('returns each rejection code; a rejected tx writes nothing but its nonce, and only once its signature and nonce are good', () => {
    const { f, s } = setup({ maxTxBytes: 300 });
    const carol = key(3);
    const good = stx(f.alice, 5, { type: 'anchor', hash: new Uint8Array(32).fill(1), metadata: 'doc' });
    const badSig = good.slice();
    badSig[badSig.length - 1]! ^= 1;
    const poor = stx(f.alice, 1, { type: 'transfer', asset: 'USD', to: f.alice.publicKey, amount: 10_000n });
    const exec = executeBlock(
      s,
      block([
        badSig, // BAD_SIGNATURE
        stx(f.alice, 9, { type: 'anchor', hash: new Uint8Array(32), metadata: '' }), // BAD_NONCE
        stx(f.alice, 0, { type: 'create_account' }, 'other-chain'), // WRONG_CHAIN
        stx(f.alice, 0, { type: 'create_account' }), // ACCOUNT_EXISTS
        stx(carol, 0, { type: 'anchor', hash: new Uint8Array(32), metadata: '' }), // NO_ACCOUNT
        stx(f.alice, 0, { type: 'transfer', asset: 'USD', to: carol.publicKey, amount: 1n }), // NO_ACCOUNT (recipient); uses nonce 0
        poor, // INSUFFICIENT_BALANCE; nonce 1
        stx(f.alice, 2, { type: 'transfer', asset: 'EUR', to: f.alice.publicKey, amount: 1n }), // UNKNOWN_ASSET
        stx(f.alice, 3, { type: 'issue_asset', asset: 'USD', to: f.alice.publicKey, amount: 1n }), // NOT_ISSUER (genesis asset)
        stx(f.alice, 4, { type: 'transfer', asset: 'USD', to: f.alice.publicKey, amount: 0n }), // BAD_AMOUNT
        stx(f.alice, 5, { type: 'anchor', hash: new Uint8Array(32), metadata: 'x'.repeat(400) }), // TX_TOO_LARGE: never decoded
        new Uint8Array([1, 2, 3]), // INVALID_TX
        good, // OK (nonce 5)
        stx(f.alice, 6, { type: 'anchor', hash: new Uint8Array(32).fill(1), metadata: 'again' }), // DUPLICATE_ANCHOR
      ]),
    );
    expect(exec.results.map((r) => r.code)).toEqual([
      'BAD_SIGNATURE',
      'BAD_NONCE',
      'WRONG_CHAIN',
      'ACCOUNT_EXISTS',
      'NO_ACCOUNT',
      'NO_ACCOUNT',
      'INSUFFICIENT_BALANCE',
      'UNKNOWN_ASSET',
      'NOT_ISSUER',
      'BAD_AMOUNT',
      'TX_TOO_LARGE',
      'INVALID_TX',
      'OK',
      'DUPLICATE_ANCHOR',
    ]);
    // only the accepted anchor wrote its record; alice's nonce moved once per tx that passed its signature and nonce checks
    expect([...exec.writes.keys()].sort()).toEqual([`acct/${toHex(f.alice.publicKey)}`, `anchor/${'01'.repeat(32)}`]);
    s.commit(exec);
    expect(getAnchor(s, new Uint8Array(32).fill(1))?.metadata).toBe('doc');
    expect(getBalance(s, f.alice.publicKey, 'USD')).toBe(1000n);
    expect(getAccount(s, f.alice.publicKey)?.nonce).toBe(7);
    expect(exec.results[12]!.hashHex).toBe(toHex(txHash(good)));
    // a failed tx cannot come back in a later block (say once alice could pay): its nonce is used
    expect(codes(s, [poor])).toEqual(['BAD_NONCE']);
  });

  it('skips signature verification only for hashes the caller already verified', () => {
    const { f, s } = setup();
    const t = stx(f.bob, 0, { type: 'create_account' });
    const bad = t.slice();
    bad[bad.length - 2]! ^= 1;
    expect(codes(s, [bad])).toEqual(['BAD_SIGNATURE']);
    expect(codes(s, [bad], { verifiedTxHashes: new Set([toHex(txHash(bad))]) })).toEqual(['OK']);
  });

  it('reports each signature it verified (never a bad or an already-verified one) so callers can cache it', () => {
    const { f, s } = setup();
    const good = stx(f.bob, 0, { type: 'create_account' });
    const bad = stx(key(3), 0, { type: 'create_account' }).slice();
    bad[bad.length - 2]! ^= 1;
    const seen: string[] = [];
    expect(codes(s, [good, bad], { onSignatureVerified: (h: string) => seen.push(h) })).toEqual([
      'OK',
      'BAD_SIGNATURE',
    ]);
    expect(seen).toEqual([toHex(txHash(good))]);
    seen.length = 0;
    codes(s, [good], {
      verifiedTxHashes: new Set([toHex(txHash(good))]),
      onSignatureVerified: (h: string) => seen.push(h),
    });
    expect(seen).toEqual([]);
  });

  it('issue and burn by the issuer; others are refused', () => {
    const { f, s } = setup();
    const exec = executeBlock(
      s,
      block([
        stx(f.bob, 0, { type: 'create_account' }),
        stx(f.alice, 0, { type: 'issue_asset', asset: 'GOLD', to: f.bob.publicKey, amount: 50n }),
        stx(f.bob, 1, { type: 'issue_asset', asset: 'GOLD', to: f.bob.publicKey, amount: 5n }), // NOT_ISSUER
        stx(f.bob, 2, { type: 'burn_asset', asset: 'GOLD', amount: 5n }), // NOT_ISSUER
        stx(f.bob, 3, { type: 'transfer', asset: 'GOLD', to: f.alice.publicKey, amount: 20n }),
        stx(f.alice, 1, { type: 'burn_asset', asset: 'GOLD', amount: 21n }), // INSUFFICIENT_BALANCE
        stx(f.alice, 2, { type: 'burn_asset', asset: 'GOLD', amount: 20n }),
        stx(f.alice, 3, { type: 'burn_asset', asset: 'SILVER', amount: 1n }), // UNKNOWN_ASSET
        stx(f.alice, 4, { type: 'issue_asset', asset: 'GOLD', to: f.alice.publicKey, amount: 0xffffffffffffffffn }), // BAD_AMOUNT overflow
      ]),
    );
    expect(exec.results.map((r) => r.code)).toEqual([
      'OK',
      'OK',
      'NOT_ISSUER',
      'NOT_ISSUER',
      'OK',
      'INSUFFICIENT_BALANCE',
      'OK',
      'UNKNOWN_ASSET',
      'BAD_AMOUNT',
    ]);
    s.commit(exec);
    expect(getAsset(s, 'GOLD')).toEqual({ issuer: f.alice.publicKey, supply: 30n });
    expect(getBalance(s, f.bob.publicKey, 'GOLD')).toBe(30n);
    expect(getBalance(s, f.alice.publicKey, 'GOLD')).toBe(0n);
  });

  it('checkTx admits without checking the signature and honours a mempool nonce', () => {
    const { f, s } = setup();
    const tx: Tx = decodeTx(stx(f.alice, 0, { type: 'transfer', asset: 'USD', to: f.alice.publicKey, amount: 1n }));
    expect(checkTx(s, { ...tx, signature: new Uint8Array(64) })).toBeNull();
    expect(checkTx(s, { ...tx, nonce: 1 })?.code).toBe('BAD_NONCE');
    expect(checkTx(s, { ...tx, nonce: 1 }, { expectedNonce: 1 })).toBeNull();
    expect(checkTx(s, tx, { maxTxBytes: 50 })?.code).toBe('TX_TOO_LARGE');
    expect(checkTx(s, { ...tx, chainId: 'x' })?.code).toBe('WRONG_CHAIN');
    expect(s.get(`acct/${toHex(f.alice.publicKey)}`)).toBeDefined();
    expect(getAccount(s, f.alice.publicKey)?.nonce).toBe(0); // checkTx never writes
    expect(CHAIN).toBe('test-chain');
  });
});

describe('state transition: evidence', () => {
  it('records valid evidence once and refuses invalid evidence', async () => {
    const { signVote } = await import('../../src/chain/index.js');
    const { f, s } = setup();
    const v = f.validators[0]!;
    const a = signVote(CHAIN, v.secretKey, v.publicKey, 'precommit', 1, 0, new Uint8Array(32).fill(1));
    const b = signVote(CHAIN, v.secretKey, v.publicKey, 'precommit', 1, 0, new Uint8Array(32).fill(2));
    const blk = {
      ...block([]),
      evidence: [
        { voteA: a, voteB: b },
        { voteA: b, voteB: a },
      ],
    };
    const e = executeBlock(s, blk);
    expect(e.events.filter((x) => x.type === 'evidence_recorded')).toHaveLength(1);
    expect([...e.writes.keys()].filter((k) => k.startsWith('evidence/'))).toHaveLength(1);
    s.commit(e);
    expect(executeBlock(s, blk).writes.size).toBe(0); // already recorded
    expect(() => executeBlock(s, { ...block([]), evidence: [{ voteA: a, voteB: a }] })).toThrow(/same block/);
    expect(() => executeBlock(s, block([], 1, 'other'))).toThrow();
  });
});

describe('state transition: determinism (property)', () => {
  it('random payment blocks give the same root on two states and match a rebuilt state', async () => {
    const fc = (await import('fast-check')).default;
    const { f } = setup();
    const people = [f.alice, f.bob, key(3), key(4)];
    const op = fc.record({
      who: fc.nat(3),
      to: fc.nat(3),
      kind: fc.constantFrom('create', 'transfer', 'issue', 'burn', 'anchor'),
      amount: fc.bigInt({ min: 0n, max: 1200n }),
      nonceSkew: fc.constantFrom(0, 0, 0, 1),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), (ops) => {
        const s1 = WorldState.fromGenesis(f.genesis);
        const s2 = WorldState.fromGenesis(f.genesis);
        const nonces = new Map<number, number>([[0, 0]]);
        const txs = ops.map((o, i) => {
          const n = (nonces.get(o.who) ?? 0) + o.nonceSkew;
          nonces.set(o.who, (nonces.get(o.who) ?? 0) + 1);
          const who = people[o.who]!;
          const to = people[o.to]!.publicKey;
          switch (o.kind) {
            case 'create':
              return stx(who, 0, { type: 'create_account' });
            case 'transfer':
              return stx(who, n, { type: 'transfer', asset: i % 2 ? 'USD' : 'GOLD', to, amount: o.amount });
            case 'issue':
              return stx(who, n, { type: 'issue_asset', asset: 'GOLD', to, amount: o.amount });
            case 'burn':
              return stx(who, n, { type: 'burn_asset', asset: 'GOLD', amount: o.amount });
            default:
              return stx(who, n, { type: 'anchor', hash: new Uint8Array(32).fill(o.to), metadata: '' });
          }
        });
        const half = Math.floor(txs.length / 2);
        const e1 = executeBlock(s1, block(txs.slice(0, half)));
        s1.commit(e1);
        const e1b = executeBlock(s1, block(txs.slice(half), 2));
        s1.commit(e1b);
        const e2 = executeBlock(s2, block(txs.slice(0, half)));
        s2.commit(e2.writes);
        const e2b = executeBlock(s2, block(txs.slice(half), 2));
        expect(e2b.results).toEqual(e1b.results);
        s2.commit(e2b.writes);
        expect(s2.root()).toEqual(s1.root());
        expect(WorldState.fromEntries(s1.entries()).root()).toEqual(s1.root());
        // supply invariant for GOLD: sum of balances == supply
        const supply = getAsset(s1, 'GOLD')?.supply ?? 0n;
        const sum = people.reduce((acc, p) => acc + getBalance(s1, p.publicKey, 'GOLD'), 0n);
        expect(sum).toBe(supply);
      }),
      { numRuns: 60 },
    );
  });
});
