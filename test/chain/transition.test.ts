import { describe, expect, it } from 'vitest';
import {
  WorldState, executeBlock, checkTx, decodeTx, getBalance, getAsset, getAccount, getAnchor, txHash, toHex, type Tx,
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
    const exec = executeBlock(s, block([
      stx(f.bob, 0, { type: 'create_account' }),
      stx(f.alice, 0, { type: 'transfer', asset: 'USD', to: f.bob.publicKey, amount: 100n }),
    ]));
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
    const b = block([stx(f.bob, 0, { type: 'create_account' }), stx(f.alice, 0, { type: 'transfer', asset: 'USD', to: f.bob.publicKey, amount: 7n })]);
    const e1 = executeBlock(s, b);
    const e2 = executeBlock(c, b);
    expect(e1.stateRoot).toEqual(e2.stateRoot);
    s.commit(e1);
    c.commit(e2.writes);
    expect(s.root()).toEqual(c.root());
    expect(WorldState.fromEntries(s.entries()).root()).toEqual(s.root());
  });

  it('returns each rejection code and leaves state untouched by rejected txs', () => {
    const { f, s } = setup({ maxTxBytes: 300 });
    const carol = key(3);
    const good = stx(f.alice, 0, { type: 'anchor', hash: new Uint8Array(32).fill(1), metadata: 'doc' });
    const badSig = good.slice();
    badSig[badSig.length - 1]! ^= 1;
    const exec = executeBlock(s, block([
      badSig, // BAD_SIGNATURE
      stx(f.alice, 5, { type: 'anchor', hash: new Uint8Array(32), metadata: '' }), // BAD_NONCE
      stx(f.alice, 0, { type: 'create_account' }, 'other-chain'), // WRONG_CHAIN
      stx(f.alice, 0, { type: 'create_account' }), // ACCOUNT_EXISTS
      stx(carol, 0, { type: 'anchor', hash: new Uint8Array(32), metadata: '' }), // NO_ACCOUNT
      stx(f.alice, 0, { type: 'transfer', asset: 'USD', to: carol.publicKey, amount: 1n }), // NO_ACCOUNT (recipient)
      stx(f.alice, 0, { type: 'transfer', asset: 'USD', to: f.alice.publicKey, amount: 1001n }), // INSUFFICIENT_BALANCE
      stx(f.alice, 0, { type: 'transfer', asset: 'EUR', to: f.alice.publicKey, amount: 1n }), // UNKNOWN_ASSET
      stx(f.alice, 0, { type: 'issue_asset', asset: 'USD', to: f.alice.publicKey, amount: 1n }), // NOT_ISSUER (genesis asset)
      stx(f.alice, 0, { type: 'transfer', asset: 'USD', to: f.alice.publicKey, amount: 0n }), // BAD_AMOUNT
      stx(f.alice, 0, { type: 'anchor', hash: new Uint8Array(32), metadata: 'x'.repeat(400) }), // TX_TOO_LARGE
      new Uint8Array([1, 2, 3]), // INVALID_TX
      good, // OK (nonce 0)
      stx(f.alice, 1, { type: 'anchor', hash: new Uint8Array(32).fill(1), metadata: 'again' }), // DUPLICATE_ANCHOR
    ]));
    expect(exec.results.map((r) => r.code)).toEqual([
      'BAD_SIGNATURE', 'BAD_NONCE', 'WRONG_CHAIN', 'ACCOUNT_EXISTS', 'NO_ACCOUNT', 'NO_ACCOUNT', 'INSUFFICIENT_BALANCE', 'UNKNOWN_ASSET',
      'NOT_ISSUER', 'BAD_AMOUNT', 'TX_TOO_LARGE', 'INVALID_TX', 'OK', 'DUPLICATE_ANCHOR',
    ]);
    // only the accepted anchor wrote: its record and alice's nonce
    expect([...exec.writes.keys()].sort()).toEqual([`acct/${toHex(f.alice.publicKey)}`, `anchor/${'01'.repeat(32)}`]);
    s.commit(exec);
    expect(getAnchor(s, new Uint8Array(32).fill(1))?.metadata).toBe('doc');
    expect(exec.results[12]!.hashHex).toBe(toHex(txHash(good)));
  });

  it('skips signature verification only for hashes the caller already verified', () => {
    const { f, s } = setup();
    const t = stx(f.bob, 0, { type: 'create_account' });
    const bad = t.slice();
    bad[bad.length - 2]! ^= 1;
    expect(codes(s, [bad])).toEqual(['BAD_SIGNATURE']);
    expect(codes(s, [bad], { verifiedTxHashes: new Set([toHex(txHash(bad))]) })).toEqual(['OK']);
  });

  it('issue and burn by the issuer; others are refused', () => {
    const { f, s } = setup();
    const exec = executeBlock(s, block([
      stx(f.bob, 0, { type: 'create_account' }),
      stx(f.alice, 0, { type: 'issue_asset', asset: 'GOLD', to: f.bob.publicKey, amount: 50n }),
      stx(f.bob, 1, { type: 'issue_asset', asset: 'GOLD', to: f.bob.publicKey, amount: 5n }), // NOT_ISSUER
      stx(f.bob, 1, { type: 'burn_asset', asset: 'GOLD', amount: 5n }), // NOT_ISSUER
      stx(f.bob, 1, { type: 'transfer', asset: 'GOLD', to: f.alice.publicKey, amount: 20n }),
      stx(f.alice, 1, { type: 'burn_asset', asset: 'GOLD', amount: 21n }), // INSUFFICIENT_BALANCE
      stx(f.alice, 1, { type: 'burn_asset', asset: 'GOLD', amount: 20n }),
      stx(f.alice, 2, { type: 'burn_asset', asset: 'SILVER', amount: 1n }), // UNKNOWN_ASSET
      stx(f.alice, 2, { type: 'issue_asset', asset: 'GOLD', to: f.alice.publicKey, amount: 0xffffffffffffffffn }), // BAD_AMOUNT overflow
    ]));
    expect(exec.results.map((r) => r.code)).toEqual(['OK', 'OK', 'NOT_ISSUER', 'NOT_ISSUER', 'OK', 'INSUFFICIENT_BALANCE', 'OK', 'UNKNOWN_ASSET', 'BAD_AMOUNT']);
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
