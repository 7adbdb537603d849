import { describe, expect, it } from 'vitest';
import {
  verifySealedGenesis,
  sealedGenesisToJSON,
  sealedGenesisFromJSON,
  genesisHash,
  encodeGenesis,
  decodeGenesis,
  signGenesisApproval,
  ConsortiaError,
  WorldState,
  getMembers,
  getValidators,
  getBalance,
  getNodeRegistry,
  getParams,
  getAsset,
} from '../../src/chain/index.js';
import { makeFixture, key } from './fixtures.js';

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConsortiaError);
    return (e as ConsortiaError).code;
  }
  return 'NO_ERROR';
}

describe('genesis', () => {
  it('a fully approved genesis with valid PoPs is accepted and survives JSON', () => {
    const f = makeFixture();
    expect(codeOf(() => verifySealedGenesis(f.sealed))).toBe('NO_ERROR');
    const json = JSON.parse(JSON.stringify(sealedGenesisToJSON(f.sealed)));
    const back = sealedGenesisFromJSON(json);
    expect(back).toEqual(f.sealed);
    expect(genesisHash(back.genesis)).toEqual(genesisHash(f.genesis));
    expect(decodeGenesis(encodeGenesis(f.genesis))).toEqual(f.genesis);
    expect(typeof json.genesis.accounts[0].balances[0].amount).toBe('string');
  });

  it('refuses a genesis missing one member approval', () => {
    const f = makeFixture();
    expect(codeOf(() => verifySealedGenesis({ ...f.sealed, approvals: f.sealed.approvals.slice(1) }))).toBe(
      'GENESIS_MISSING_APPROVAL',
    );
  });

  it('refuses a bad approval signature, an approval over another genesis, and a non-admin approver', () => {
    const f = makeFixture();
    const sig = f.sealed.approvals[0]!.signature.slice();
    sig[0]! ^= 1;
    const forged = [{ ...f.sealed.approvals[0]!, signature: sig }, ...f.sealed.approvals.slice(1)];
    expect(codeOf(() => verifySealedGenesis({ ...f.sealed, approvals: forged }))).toBe('GENESIS_BAD_APPROVAL');
    const other = { ...f.genesis, genesisTime: f.genesis.genesisTime + 1 };
    expect(codeOf(() => verifySealedGenesis({ genesis: other, approvals: f.sealed.approvals }))).toBe(
      'GENESIS_BAD_APPROVAL',
    );
    const outsider = key(999);
    const extra = signGenesisApproval(f.genesis, 'm0', outsider.secretKey, outsider.publicKey);
    expect(codeOf(() => verifySealedGenesis({ ...f.sealed, approvals: [...f.sealed.approvals, extra] }))).toBe(
      'GENESIS_BAD_APPROVAL',
    );
  });

  it('refuses a validator with a bad proof of possession', () => {
    const f = makeFixture();
    const v0 = f.genesis.validators[0]!;
    const pop = v0.proofOfPossession.slice();
    pop[10]! ^= 1;
    const genesis = { ...f.genesis, validators: [{ ...v0, proofOfPossession: pop }, ...f.genesis.validators.slice(1)] };
    const h = genesisHash(genesis);
    const approvals = f.admins.map((a, i) => signGenesisApproval(h, `m${i}`, a.secretKey, a.publicKey));
    expect(codeOf(() => verifySealedGenesis({ genesis, approvals }))).toBe('GENESIS_BAD_POP');
  });

  it('refuses malformed JSON and structural errors', () => {
    const f = makeFixture();
    const json = sealedGenesisToJSON(f.sealed) as { genesis: Record<string, unknown> };
    expect(codeOf(() => sealedGenesisFromJSON({ ...json, genesis: { ...json.genesis, chainId: 5 } }))).toBe(
      'GENESIS_INVALID',
    );
    expect(codeOf(() => sealedGenesisFromJSON(null))).toBe('GENESIS_INVALID');
    const dup = { ...f.genesis, members: [...f.genesis.members, f.genesis.members[0]!] };
    expect(codeOf(() => verifySealedGenesis({ genesis: dup, approvals: [] }))).toBe('GENESIS_INVALID');
  });

  it('builds the initial state', () => {
    const f = makeFixture();
    const s = WorldState.fromGenesis(f.genesis);
    expect(getMembers(s).map((m) => m.memberId)).toEqual(['m0', 'm1', 'm2']);
    expect(getValidators(s)).toHaveLength(3);
    expect(getNodeRegistry(s)).toHaveLength(3);
    expect(getBalance(s, f.alice.publicKey, 'USD')).toBe(1000n);
    expect(getAsset(s, 'USD')?.supply).toBe(1000n);
    expect(getParams(s)).toEqual(f.genesis.params);
    expect(WorldState.fromGenesis(f.genesis).root()).toEqual(s.root());
  });
});
