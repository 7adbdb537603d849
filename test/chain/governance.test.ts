import { describe, expect, it } from 'vitest';
import {
  WorldState,
  executeBlock,
  tallyPasses,
  governanceActionHash,
  signGovernanceVote,
  signProofOfPossession,
  getMembers,
  getValidators,
  getNodeRegistry,
  getParams,
  validatorSetHash,
  type GovernanceAction,
  type GovernanceVote,
  type KeyPair,
  type VotingPolicy,
} from '../../src/chain/index.js';
import { makeFixture, stx, block, key, CHAIN, type Fixture } from './fixtures.js';

const GT = (p: number): VotingPolicy => ({
  thresholdPercentage: p,
  thresholdComparator: 'GREATER_THAN',
  proposalDurationSeconds: 60,
});
const GTE = (p: number): VotingPolicy => ({
  thresholdPercentage: p,
  thresholdComparator: 'GREATER_THAN_OR_EQUAL_TO',
  proposalDurationSeconds: 60,
});

describe('tallyPasses', () => {
  it('handles both comparators at the boundary', () => {
    expect(tallyPasses(GT(50), 2, 4)).toBe(false);
    expect(tallyPasses(GTE(50), 2, 4)).toBe(true);
    expect(tallyPasses(GT(50), 3, 4)).toBe(true);
    expect(tallyPasses(GTE(50), 1, 4)).toBe(false);
    expect(tallyPasses(GTE(100), 3, 3)).toBe(true);
    expect(tallyPasses(GT(100), 3, 3)).toBe(false);
    expect(tallyPasses(GT(0), 0, 3)).toBe(false);
    expect(tallyPasses(GTE(0), 0, 3)).toBe(true);
    expect(tallyPasses(GTE(66), 2, 3)).toBe(true); // 66.67% >= 66
    expect(tallyPasses(GT(67), 2, 3)).toBe(false);
    expect(tallyPasses(GTE(50), 0, 0)).toBe(false);
  });
});

function votes(
  f: Fixture,
  pid: string,
  a: GovernanceAction,
  who: number[],
  vote: 'YES' | 'NO' = 'YES',
): GovernanceVote[] {
  const h = governanceActionHash(a);
  return who.map((i) =>
    signGovernanceVote(CHAIN, pid, h, vote, `m${i}`, f.admins[i]!.secretKey, f.admins[i]!.publicKey),
  );
}
function gov(
  f: Fixture,
  nonce: number,
  pid: string,
  a: GovernanceAction,
  vs: GovernanceVote[],
  signer: KeyPair = f.alice,
) {
  return stx(signer, nonce, { type: 'governance', proposalId: pid, action: a, votes: vs });
}
function run(s: WorldState, txs: Uint8Array[]) {
  const e = executeBlock(s, block(txs));
  s.commit(e);
  return e;
}

const newMember = (id = 'm9'): GovernanceAction => ({
  type: 'add_member',
  memberId: id,
  name: 'New',
  adminKeys: [key(900).publicKey],
});

describe('governance transactions', () => {
  it('executes when the chain policy passes over its own member set (3 members, > 50%)', () => {
    const f = makeFixture(3);
    const s = WorldState.fromGenesis(f.genesis);
    const a = newMember();
    const e = run(s, [gov(f, 0, 'p1', a, votes(f, 'p1', a, [0])), gov(f, 1, 'p2', a, votes(f, 'p2', a, [0, 1]))]);
    expect(e.results.map((r) => r.code)).toEqual(['GOV_THRESHOLD_NOT_MET', 'OK']);
    expect(getMembers(s).map((m) => m.memberId)).toContain('m9');
    expect(e.events.some((ev) => ev.type === 'governance_executed')).toBe(true);
  });

  it('uses both comparators at the 50% boundary with 4 members', () => {
    for (const [policy, expected] of [
      [GT(50), 'GOV_THRESHOLD_NOT_MET'],
      [GTE(50), 'OK'],
    ] as const) {
      const f = makeFixture(4, { votingPolicy: policy });
      const s = WorldState.fromGenesis(f.genesis);
      const a = newMember();
      expect(run(s, [gov(f, 0, 'p', a, votes(f, 'p', a, [0, 1]))]).results[0]!.code).toBe(expected);
    }
  });

  it('counts NO votes as not YES', () => {
    const f = makeFixture(3);
    const s = WorldState.fromGenesis(f.genesis);
    const a = newMember();
    const vs = [...votes(f, 'p', a, [0]), ...votes(f, 'p', a, [1, 2], 'NO')];
    expect(run(s, [gov(f, 0, 'p', a, vs)]).results[0]!.code).toBe('GOV_THRESHOLD_NOT_MET');
  });

  it('refuses forged votes, duplicate member votes, non-member voters and replays', () => {
    const f = makeFixture(3);
    const s = WorldState.fromGenesis(f.genesis);
    const a = newMember();
    const other = newMember('m8');
    // a vote signed for a different action / proposal / chain
    const forged = [...votes(f, 'p', a, [0]), ...votes(f, 'p', other, [1])];
    const wrongPid = [...votes(f, 'p', a, [0]), ...votes(f, 'q', a, [1])];
    const dup = [...votes(f, 'p', a, [0]), ...votes(f, 'p', a, [0])];
    const outsider = key(777);
    const stranger = [
      ...votes(f, 'p', a, [0]),
      signGovernanceVote(CHAIN, 'p', governanceActionHash(a), 'YES', 'm1', outsider.secretKey, outsider.publicKey),
    ];
    const unknown = [
      ...votes(f, 'p', a, [0]),
      signGovernanceVote(CHAIN, 'p', governanceActionHash(a), 'YES', 'nobody', outsider.secretKey, outsider.publicKey),
    ];
    const e = run(s, [
      gov(f, 0, 'p', a, forged),
      gov(f, 1, 'p', a, wrongPid),
      gov(f, 2, 'p', a, dup),
      gov(f, 3, 'p', a, stranger),
      gov(f, 4, 'p', a, unknown),
      gov(f, 5, 'p', a, votes(f, 'p', a, [0, 1])), // OK
      gov(f, 6, 'p', newMember('m7'), votes(f, 'p', newMember('m7'), [0, 1, 2])), // replayed proposal id
    ]);
    expect(e.results.map((r) => r.code)).toEqual([
      'GOV_BAD_SIGNATURE',
      'GOV_BAD_SIGNATURE',
      'GOV_DUPLICATE_VOTE',
      'GOV_UNKNOWN_MEMBER',
      'GOV_UNKNOWN_MEMBER',
      'OK',
      'GOV_ALREADY_EXECUTED',
    ]);
    // replay in a later block too
    expect(run(s, [gov(f, 7, 'p', a, votes(f, 'p', a, [0, 1, 2]))]).results[0]!.code).toBe('GOV_ALREADY_EXECUTED');
  });

  it('adds a validator only with a valid proof of possession and reports the new set', () => {
    const f = makeFixture(3);
    const s = WorldState.fromGenesis(f.genesis);
    const v = key(300);
    const badPop: GovernanceAction = {
      type: 'add_validator',
      memberId: 'm1',
      publicKey: v.publicKey,
      power: 5,
      proofOfPossession: signProofOfPossession('other', v.secretKey, v.publicKey),
    };
    const good: GovernanceAction = {
      ...badPop,
      proofOfPossession: signProofOfPossession(CHAIN, v.secretKey, v.publicKey),
    };
    const before = validatorSetHash(getValidators(s));
    const e = run(s, [
      gov(f, 0, 'a', badPop, votes(f, 'a', badPop, [0, 1])),
      gov(f, 1, 'b', good, votes(f, 'b', good, [0, 1])),
    ]);
    expect(e.results.map((r) => r.code)).toEqual(['GOV_INVALID_ACTION', 'OK']);
    expect(e.validatorsChanged).toBe(true);
    expect(e.validators).toHaveLength(4);
    expect(validatorSetHash(e.validators)).not.toEqual(before);
    expect(
      getNodeRegistry(s).find(
        (n) => n.role === 'validator' && n.memberId === 'm1' && n.publicKey[0] === v.publicKey[0],
      ),
    ).toBeDefined();
  });

  it('removing a member removes its validators and nodes', () => {
    const f = makeFixture(3);
    const s = WorldState.fromGenesis(f.genesis);
    const a: GovernanceAction = { type: 'remove_member', memberId: 'm2' };
    const e = run(s, [gov(f, 0, 'r', a, votes(f, 'r', a, [0, 1]))]);
    expect(e.results[0]!.code).toBe('OK');
    expect(getMembers(s)).toHaveLength(2);
    expect(
      getValidators(s)
        .map((x) => x.memberId)
        .sort(),
    ).toEqual(['m0', 'm1']);
    expect(getNodeRegistry(s).every((n) => n.memberId !== 'm2')).toBe(true);
  });

  it('register_node without votes needs the member admin key and a non-validator role', () => {
    const f = makeFixture(3);
    const s = WorldState.fromGenesis(f.genesis);
    const admin = f.admins[1]!;
    const node = key(400);
    const a: GovernanceAction = { type: 'register_node', memberId: 'm1', publicKey: node.publicKey, role: 'ordinary' };
    const asVal: GovernanceAction = { ...a, role: 'validator' };
    const e = run(s, [
      gov(f, 0, 'n1', a, []), // alice is no admin of m1
      stx(admin, 0, { type: 'create_account' }),
      gov(f, 1, 'n2', asVal, [], admin),
      gov(f, 2, 'n3', a, [], admin),
      gov(f, 3, 'n4', a, [], admin), // already registered
    ]);
    expect(e.results.map((r) => r.code)).toEqual([
      'GOV_THRESHOLD_NOT_MET',
      'OK',
      'GOV_THRESHOLD_NOT_MET',
      'OK',
      'GOV_INVALID_ACTION',
    ]);
    expect(getNodeRegistry(s).some((n) => n.memberId === 'm1' && n.role === 'ordinary')).toBe(true);
  });

  it("register_node relayed by anyone with exactly one YES vote of the node's own member", () => {
    const f = makeFixture(3);
    const s = WorldState.fromGenesis(f.genesis);
    const node = key(401);
    const other = key(402);
    const a: GovernanceAction = { type: 'register_node', memberId: 'm1', publicKey: node.publicKey, role: 'ordinary' };
    const asVal: GovernanceAction = { ...a, role: 'validator' };
    const b: GovernanceAction = { ...a, publicKey: other.publicKey };
    const e = run(s, [
      gov(f, 0, 'n1', a, votes(f, 'n1', a, [0])), // another member's vote alone
      gov(f, 1, 'n2', asVal, votes(f, 'n2', asVal, [1])), // validators need the consortium's votes
      gov(f, 2, 'n3', a, votes(f, 'n3', a, [1], 'NO')),
      gov(f, 3, 'n4', a, votes(f, 'n4', a, [1])), // alice only relays m1's signed YES
      gov(f, 4, 'n5', b, votes(f, 'n4', b, [1])), // signed for another proposal id
    ]);
    expect(e.results.map((r) => r.code)).toEqual([
      'GOV_THRESHOLD_NOT_MET',
      'GOV_THRESHOLD_NOT_MET',
      'GOV_THRESHOLD_NOT_MET',
      'OK',
      'GOV_BAD_SIGNATURE',
    ]);
    const registered = getNodeRegistry(s).filter((n) => n.memberId === 'm1' && n.role === 'ordinary');
    expect(registered).toHaveLength(1);
    expect(registered[0]!.publicKey).toEqual(node.publicKey);
  });

  it('changes params by vote and refuses invalid params', () => {
    const f = makeFixture(3);
    const s = WorldState.fromGenesis(f.genesis);
    const ok: GovernanceAction = { type: 'change_params', params: { blockIntervalMs: 500, votingPolicy: GTE(100) } };
    const bad: GovernanceAction = { type: 'change_params', params: { maxBlockTxs: 0 } };
    const e = run(s, [
      gov(f, 0, 'c1', bad, votes(f, 'c1', bad, [0, 1])),
      gov(f, 1, 'c2', ok, votes(f, 'c2', ok, [0, 1])),
    ]);
    expect(e.results.map((r) => r.code)).toEqual(['GOV_INVALID_ACTION', 'OK']);
    expect(getParams(s).blockIntervalMs).toBe(500);
    // the new policy (100%) applies to the next proposal
    const a = newMember();
    expect(run(s, [gov(f, 2, 'p', a, votes(f, 'p', a, [0, 1]))]).results[0]!.code).toBe('GOV_THRESHOLD_NOT_MET');
  });
});
