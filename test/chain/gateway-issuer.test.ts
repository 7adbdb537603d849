import { describe, expect, it } from 'vitest';
import {
  StateKeys,
  WorldState,
  decodeAsset,
  decodeTx,
  encodeAsset,
  encodeTx,
  executeBlock,
  getAsset,
  getBalance,
  signTx,
  txSignBytes,
  type Tx,
} from '../../src/chain/index.js';
import { block, key, makeFixture, stx } from './fixtures.js';

// Gateway issuers (src/chain/state/transition.ts): an asset's issuer alone issues and redeems by
// burning; an asset declared with create_asset keeps an issued/burned ledger next to its supply.
function setup() {
  const f = makeFixture();
  const s = WorldState.fromGenesis(f.genesis);
  const gateway = key(3);
  s.commit(
    executeBlock(s, block([stx(gateway, 0, { type: 'create_account' }), stx(f.bob, 0, { type: 'create_account' })])),
  );
  return { f, s, gateway };
}
function run(s: WorldState, txs: Uint8Array[]): string[] {
  const e = executeBlock(s, block(txs));
  s.commit(e);
  return e.results.map((r) => r.code);
}

describe('gateway issuers', () => {
  it('create_asset round-trips through the tx codec (a new tag; existing tags keep their numbers)', () => {
    const { gateway } = setup();
    const tx: Tx = signTx(
      {
        chainId: 'test-chain',
        signer: gateway.publicKey,
        nonce: 1,
        body: { type: 'create_asset', asset: 'POINTS', issuer: gateway.publicKey },
      },
      gateway.secretKey,
    );
    const bytes = encodeTx(tx);
    expect(decodeTx(bytes)).toEqual(tx);
    const head = { chainId: 'c', signer: gateway.publicKey, nonce: 0 };
    const at = txSignBytes({ ...head, body: { type: 'create_account' } }).length - 1; // create_account has an empty body: its tag is last
    expect(txSignBytes({ ...head, body: { type: 'anchor', hash: new Uint8Array(32), metadata: '' } })[at]).toBe(4);
    expect(
      txSignBytes({
        ...head,
        body: { type: 'governance', proposalId: 'p', action: { type: 'remove_member', memberId: 'm' }, votes: [] },
      })[at],
    ).toBe(5);
    expect(txSignBytes({ ...head, body: { type: 'create_asset', asset: 'A', issuer: gateway.publicKey } })[at]).toBe(6);
  });

  it('keeps a ledger: supply = issued - burned, only the declared issuer issues and burns', () => {
    const { f, s, gateway } = setup();
    const P = 'POINTS';
    expect(
      run(s, [
        stx(f.bob, 1, { type: 'create_asset', asset: P, issuer: gateway.publicKey }), // bob declares, gateway issues
        stx(gateway, 1, { type: 'issue_asset', asset: P, amount: 1000n, to: gateway.publicKey }),
        stx(gateway, 2, { type: 'transfer', asset: P, to: f.bob.publicKey, amount: 300n }),
        stx(f.bob, 2, { type: 'issue_asset', asset: P, amount: 5n, to: f.bob.publicKey }), // NOT_ISSUER (even its creator)
        stx(f.bob, 3, { type: 'burn_asset', asset: P, amount: 5n }), // NOT_ISSUER: holders redeem through the gateway
        stx(f.bob, 4, { type: 'transfer', asset: P, to: gateway.publicKey, amount: 100n }), // redemption: back to the gateway...
        stx(gateway, 3, { type: 'burn_asset', asset: P, amount: 100n }), // ...which burns
        stx(gateway, 4, { type: 'create_asset', asset: P, issuer: gateway.publicKey }), // ASSET_EXISTS
        stx(gateway, 5, { type: 'create_asset', asset: 'X', issuer: key(99).publicKey }), // NO_ACCOUNT
      ]),
    ).toEqual(['OK', 'OK', 'OK', 'NOT_ISSUER', 'NOT_ISSUER', 'OK', 'OK', 'ASSET_EXISTS', 'NO_ACCOUNT']);
    const a = getAsset(s, P)!;
    expect(a.issuer).toEqual(gateway.publicKey);
    expect(a.ledger).toEqual({ issued: 1000n, burned: 100n });
    expect(a.supply).toBe(a.ledger!.issued - a.ledger!.burned);
    expect(getBalance(s, f.bob.publicKey, P)).toBe(200n);
    // the ledger is in the committed state: provable like any other key
    expect(s.prove(StateKeys.asset(P)).leaf).not.toBeNull();
  });

  it('leaves implicitly created assets in the original record form (old blocks replay to the same roots)', () => {
    const { s, gateway } = setup();
    expect(
      run(s, [
        stx(gateway, 1, { type: 'issue_asset', asset: 'OLD', amount: 10n, to: gateway.publicKey }),
        stx(gateway, 2, { type: 'burn_asset', asset: 'OLD', amount: 3n }),
      ]),
    ).toEqual(['OK', 'OK']);
    const raw = s.get(StateKeys.asset('OLD'))!;
    expect(raw.length).toBe(40); // issuer(32) + supply(8), as before create_asset existed
    expect(raw).toEqual(encodeAsset({ issuer: gateway.publicKey, supply: 7n }));
    expect(decodeAsset(raw).ledger).toBeUndefined();
  });

  it('decodes only the two record forms', () => {
    const b = encodeAsset({ issuer: new Uint8Array(32), supply: 1n, ledger: { issued: 2n, burned: 1n } });
    expect(b.length).toBe(56);
    expect(() => decodeAsset(b.subarray(0, 48))).toThrow();
  });
});
