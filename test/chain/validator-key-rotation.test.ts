import { describe, expect, it } from 'vitest';
import {
  LightCodes,
  StateKeys,
  WorldState,
  blockHash,
  computeBodyRoots,
  decodeGovernanceAction,
  genesisHash,
  sortValidators,
  verifyNextHeader,
  encodeGovernanceAction,
  executeBlock,
  getNodeRegistry,
  getValidators,
  governanceActionHash,
  signGovernanceVote,
  signProofOfPossession,
  toHex,
  validatorSetHash,
  type Block,
  type GovernanceAction,
  type ValidatorInfo,
} from '../../src/chain/index.js';
import { certify, validatorsOf } from './chain-builder.js';
import { CHAIN, block, key, makeFixture, stx, type Fixture } from './fixtures.js';

function rotation(f: Fixture, i: number, seed: number, popChain = CHAIN): GovernanceAction {
  const n = key(seed);
  return {
    type: 'rotate_validator_key',
    oldPublicKey: f.validators[i]!.publicKey,
    newPublicKey: n.publicKey,
    proofOfPossession: signProofOfPossession(popChain, n.secretKey, n.publicKey),
  };
}
function govTx(f: Fixture, nonce: number, pid: string, a: GovernanceAction, who = [0, 1]): Uint8Array {
  const h = governanceActionHash(a);
  const votes = who.map((i) =>
    signGovernanceVote(CHAIN, pid, h, 'YES', `m${i}`, f.admins[i]!.secretKey, f.admins[i]!.publicKey),
  );
  return stx(f.alice, nonce, { type: 'governance', proposalId: pid, action: a, votes });
}
const powers = (vs: { publicKey: Uint8Array; power: number; memberId: string }[]) =>
  vs.map((v) => `${v.memberId}:${toHex(v.publicKey)}:${v.power}`).sort();

describe('rotate_validator_key', () => {
  it('round-trips through the canonical codec and rejects a truncated encoding', () => {
    const f = makeFixture(3);
    const a = rotation(f, 1, 501);
    const bytes = encodeGovernanceAction(a);
    expect(decodeGovernanceAction(bytes)).toEqual(a);
    expect(() => decodeGovernanceAction(bytes.subarray(0, bytes.length - 1))).toThrow();
    expect(() => decodeGovernanceAction(new Uint8Array([...bytes, 0]))).toThrow();
  });

  it('swaps the key in one block with the member and power preserved; the new set signs the next height', () => {
    const f = makeFixture(3);
    const s = WorldState.fromGenesis(f.genesis);
    const before = getValidators(s);
    const a = rotation(f, 1, 502);
    if (a.type !== 'rotate_validator_key') throw new Error('unreachable');
    const e = executeBlock(s, block([govTx(f, 0, 'rot', a)], 7));
    expect(e.results[0]!.code).toBe('OK');
    expect(e.validatorsChanged).toBe(true);
    expect(e.events).toContainEqual({ type: 'validator_set_changed' });
    // the set the node uses for height 8 (chain-tip takes exec.validators after committing 7)
    const after = e.validators;
    expect(after).toHaveLength(before.length);
    expect(after.some((v) => toHex(v.publicKey) === toHex(a.oldPublicKey))).toBe(false);
    const moved = after.find((v) => toHex(v.publicKey) === toHex(a.newPublicKey));
    expect(moved).toEqual({ publicKey: a.newPublicKey, power: 10, memberId: 'm1' });
    expect(after.reduce((n, v) => n + v.power, 0)).toBe(before.reduce((n, v) => n + v.power, 0));
    expect(powers(after.filter((v) => v.memberId !== 'm1'))).toEqual(powers(before.filter((v) => v.memberId !== 'm1')));
    expect(validatorSetHash(after)).not.toEqual(validatorSetHash(before));
    // the state is unchanged until committed: the block that carries the action is still signed by the old set
    expect(powers(getValidators(s))).toEqual(powers(before));
    s.commit(e);
    expect(powers(getValidators(s))).toEqual(powers(after));
    // both keys are registered nodes of the member: the old one stays the node's p2p identity
    const nodes = getNodeRegistry(s)
      .filter((n) => n.memberId === 'm1')
      .map((n) => toHex(n.publicKey));
    expect(nodes).toContain(toHex(a.newPublicKey));
  });

  it('refuses a proof of possession that does not verify for this chain and new key', () => {
    const f = makeFixture(3);
    const s = WorldState.fromGenesis(f.genesis);
    const wrongChain = rotation(f, 0, 503, 'other-chain');
    const other = key(504);
    const good = rotation(f, 0, 503);
    if (good.type !== 'rotate_validator_key') throw new Error('unreachable');
    const wrongKey: GovernanceAction = {
      ...good,
      proofOfPossession: signProofOfPossession(CHAIN, other.secretKey, other.publicKey),
    };
    const e = executeBlock(s, block([govTx(f, 0, 'a', wrongChain), govTx(f, 1, 'b', wrongKey)]));
    expect(e.results.map((r) => [r.code, r.message])).toEqual([
      ['GOV_INVALID_ACTION', 'invalid proof of possession'],
      ['GOV_INVALID_ACTION', 'invalid proof of possession'],
    ]);
    expect(e.validatorsChanged).toBe(false);
  });

  it('refuses a non-validator old key, a new key already validating, the same key, and a key of another member', () => {
    const f = makeFixture(3);
    const s = WorldState.fromGenesis(f.genesis);
    const stranger = key(505);
    const notValidator: GovernanceAction = {
      type: 'rotate_validator_key',
      oldPublicKey: stranger.publicKey,
      newPublicKey: key(506).publicKey,
      proofOfPossession: signProofOfPossession(CHAIN, key(506).secretKey, key(506).publicKey),
    };
    const v2 = f.validators[2]!;
    const takenKey: GovernanceAction = {
      type: 'rotate_validator_key',
      oldPublicKey: f.validators[0]!.publicKey,
      newPublicKey: v2.publicKey,
      proofOfPossession: signProofOfPossession(CHAIN, v2.secretKey, v2.publicKey),
    };
    const v0 = f.validators[0]!;
    const same: GovernanceAction = {
      type: 'rotate_validator_key',
      oldPublicKey: v0.publicKey,
      newPublicKey: v0.publicKey,
      proofOfPossession: signProofOfPossession(CHAIN, v0.secretKey, v0.publicKey),
    };
    // m2 registers a node key; m0 may not take it over as its validator key
    const n = key(507);
    const reg: GovernanceAction = { type: 'register_node', memberId: 'm2', publicKey: n.publicKey, role: 'ordinary' };
    const foreign: GovernanceAction = {
      type: 'rotate_validator_key',
      oldPublicKey: v0.publicKey,
      newPublicKey: n.publicKey,
      proofOfPossession: signProofOfPossession(CHAIN, n.secretKey, n.publicKey),
    };
    const e = executeBlock(
      s,
      block([
        govTx(f, 0, 'a', notValidator),
        govTx(f, 1, 'b', takenKey),
        govTx(f, 2, 'c', same),
        govTx(f, 3, 'd', reg),
        govTx(f, 4, 'e', foreign),
      ]),
    );
    expect(e.results.map((r) => r.message ?? r.code)).toEqual([
      'old key is not a validator',
      'new key is already a validator',
      'new key equals the old key',
      'OK',
      'new key belongs to another member',
    ]);
    expect(e.validatorsChanged).toBe(false);
  });

  it('needs the voting threshold like any validator-set change', () => {
    const f = makeFixture(3);
    const s = WorldState.fromGenesis(f.genesis);
    const e = executeBlock(s, block([govTx(f, 0, 'x', rotation(f, 0, 508), [0])]));
    expect(e.results[0]!.code).toBe('GOV_THRESHOLD_NOT_MET');
  });

  it('a light client follows the rotation: the next header is certified by the new key, proven by the trusted root', () => {
    const f = makeFixture(3);
    const s = WorldState.fromGenesis(f.genesis);
    const old = sortValidators(validatorsOf(f));
    const a = rotation(f, 1, 509);
    const fresh = key(509);
    const mk = (height: number, prev: Uint8Array, vals: ValidatorInfo[], txs: Uint8Array[]): Block => {
      const body = { txs, evidence: [], lastCommit: null };
      const roots = computeBodyRoots(body);
      return {
        header: {
          chainId: CHAIN,
          height,
          time: f.genesis.genesisTime + height,
          prevHash: prev,
          txRoot: roots.txRoot,
          stateRoot: new Uint8Array(32),
          validatorSetHash: validatorSetHash(vals),
          proposer: vals[0]!.publicKey,
          lastCommitHash: roots.lastCommitHash,
          evidenceRoot: roots.evidenceRoot,
        },
        ...body,
      };
    };
    const b1 = mk(1, genesisHash(f.genesis), old, [govTx(f, 0, 'rot', a)]);
    const e1 = executeBlock(s, b1);
    expect(e1.results[0]!.code).toBe('OK');
    b1.header.stateRoot = e1.stateRoot;
    s.commit(e1);
    const next = sortValidators(e1.validators);
    const b2 = mk(2, blockHash(b1.header), next, []);
    b2.header.stateRoot = executeBlock(s, b2).stateRoot;
    const trust0 = { chainId: CHAIN, height: 0, hash: genesisHash(f.genesis), stateRoot: null, validators: old };
    const t1 = verifyNextHeader(trust0, b1.header, certify(b1, f.validators));
    const signers2 = [f.validators[0]!, fresh, f.validators[2]!];
    const change = { validators: next, proof: s.prove(StateKeys.valset) };
    const t2 = verifyNextHeader(t1, b2.header, certify(b2, signers2), change);
    expect(t2.validators.map((v) => toHex(v.publicKey))).toContain(toHex(fresh.publicKey));
    // the old key no longer counts: with it instead of the new key the commit is not from the set
    const withOld = [f.validators[0]!, f.validators[1]!, f.validators[2]!];
    let code = '';
    try {
      verifyNextHeader(t1, b2.header, certify(b2, withOld), change);
    } catch (err) {
      code = (err as { code?: string }).code ?? '';
    }
    expect(code).not.toBe('');
    expect(Object.values(LightCodes)).toContain(code);
  });
});
