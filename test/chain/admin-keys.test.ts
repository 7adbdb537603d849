// Admin-key rotation (endorsed by the old key) and lost-key recovery (the other members' votes):
// the replace_admin_keys action, its codec, its checks and the retired-key rule.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ADMIN_KEYS_MAX,
  StateKeys,
  WorldState,
  Writer,
  adminKeyEndorsementPayload,
  decodeGovernanceAction,
  decodeRetiredKey,
  encodeGovernanceAction,
  executeBlock,
  getMember,
  governanceActionHash,
  isValidPublicKey,
  signAdminKeyEndorsement,
  signGovernanceVote,
  verifyAdminKeyEndorsement,
  type GovernanceAction,
  type GovernanceVote,
  type KeyPair,
} from '../../src/chain/index.js';
import { CHAIN, block, key, makeFixture, stx, type Fixture } from './fixtures.js';

type Replace = Extract<GovernanceAction, { type: 'replace_admin_keys' }>;

function votes(f: Fixture, pid: string, a: GovernanceAction, who: number[], signer?: KeyPair): GovernanceVote[] {
  const h = governanceActionHash(a);
  return who.map((i) => {
    const k = signer ?? f.admins[i]!;
    return signGovernanceVote(CHAIN, pid, h, 'YES', `m${i}`, k.secretKey, k.publicKey);
  });
}
const gov = (f: Fixture, nonce: number, pid: string, a: GovernanceAction, vs: GovernanceVote[]) =>
  stx(f.alice, nonce, { type: 'governance', proposalId: pid, action: a, votes: vs });
function run(s: WorldState, txs: Uint8Array[], height = 1) {
  const e = executeBlock(s, block(txs, height));
  s.commit(e);
  return e;
}

/** m0 rotates from its admin key to `next`, endorsed by the old key. */
function rotation(f: Fixture, next: KeyPair, member = 0, endorser = f.admins[member]!): Replace {
  const newAdminKeys = [next.publicKey];
  return {
    type: 'replace_admin_keys',
    memberId: `m${member}`,
    newAdminKeys,
    endorsement: signAdminKeyEndorsement(CHAIN, `m${member}`, newAdminKeys, endorser.secretKey, endorser.publicKey),
  };
}

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const replaceAction: fc.Arbitrary<GovernanceAction> = fc.record({
  type: fc.constant('replace_admin_keys' as const),
  memberId: fc.string({ minLength: 1, maxLength: 40 }),
  newAdminKeys: fc.array(bytes32, { maxLength: ADMIN_KEYS_MAX }),
  endorsement: fc.option(fc.record({ adminKey: bytes32, signature: fc.uint8Array({ minLength: 64, maxLength: 64 }) }), {
    nil: null,
  }),
});

describe('replace_admin_keys codec', () => {
  it('round-trips with and without an endorsement', () => {
    fc.assert(
      fc.property(replaceAction, (a) => {
        expect(decodeGovernanceAction(encodeGovernanceAction(a))).toEqual(a);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses an endorsement flag other than 0/1, truncation and more than ADMIN_KEYS_MAX keys', () => {
    const a: Replace = {
      type: 'replace_admin_keys',
      memberId: 'm0',
      newAdminKeys: [key(5).publicKey],
      endorsement: null,
    };
    const enc = encodeGovernanceAction(a);
    const bad = enc.slice();
    bad[bad.length - 1] = 2;
    expect(() => decodeGovernanceAction(bad)).toThrow(expect.objectContaining({ code: 'CODEC_NON_CANONICAL' }));
    expect(() => decodeGovernanceAction(enc.slice(0, -1))).toThrow(
      expect.objectContaining({ code: 'CODEC_TRUNCATED' }),
    );
    const many = Array.from({ length: ADMIN_KEYS_MAX + 1 }, (_, i) => key(300 + i).publicKey);
    expect(() => encodeGovernanceAction({ ...a, newAdminKeys: many })).toThrow(
      expect.objectContaining({ code: 'CODEC_OVERSIZE' }),
    );
    const w = new Writer(64)
      .u8(enc[0]!)
      .string('m0')
      .u32(ADMIN_KEYS_MAX + 1);
    expect(() => decodeGovernanceAction(w.finish())).toThrow(expect.objectContaining({ code: 'CODEC_OVERSIZE' }));
  });
});

describe('admin key endorsement', () => {
  it('verifies only for the same chain, member and keys, under its own signing domain', () => {
    const f = makeFixture(2);
    const a = rotation(f, key(500));
    const e = a.endorsement!;
    expect(verifyAdminKeyEndorsement(CHAIN, 'm0', a.newAdminKeys, e)).toBe(true);
    expect(verifyAdminKeyEndorsement('other-chain', 'm0', a.newAdminKeys, e)).toBe(false);
    expect(verifyAdminKeyEndorsement(CHAIN, 'm1', a.newAdminKeys, e)).toBe(false);
    expect(verifyAdminKeyEndorsement(CHAIN, 'm0', [key(501).publicKey], e)).toBe(false);
    // the same bytes signed as a governance vote are not an endorsement
    const asVote = signGovernanceVote(
      CHAIN,
      'p',
      new Uint8Array(32),
      'YES',
      'm0',
      f.admins[0]!.secretKey,
      f.admins[0]!.publicKey,
    );
    expect(verifyAdminKeyEndorsement(CHAIN, 'm0', a.newAdminKeys, { ...e, signature: asVote.signature })).toBe(false);
    expect(adminKeyEndorsementPayload(CHAIN, 'm0', a.newAdminKeys).length).toBeGreaterThan(32);
  });

  it('isValidPublicKey accepts curve points only', () => {
    expect(isValidPublicKey(key(1).publicKey)).toBe(true);
    expect(isValidPublicKey(new Uint8Array(31))).toBe(false);
    // y = 2 is not on edwards25519 (no x solves the curve equation)
    const notOnCurve = new Uint8Array(32);
    notOnCurve[0] = 2;
    expect(isValidPublicKey(notOnCurve)).toBe(false);
  });
});

describe('admin key rotation on chain', () => {
  it('replaces the keys at the height it executes; the retired key no longer votes (GOV_KEY_RETIRED)', () => {
    const f = makeFixture(3);
    const s = WorldState.fromGenesis(f.genesis);
    const next = key(500);
    const a = rotation(f, next);
    // the rotating member's own vote (with its old key) counts like any other
    const e = run(s, [gov(f, 0, 'rot', a, votes(f, 'rot', a, [0, 1]))], 5);
    expect(e.results.map((r) => r.code)).toEqual(['OK']);
    expect(getMember(s, 'm0')!.adminKeys).toEqual([next.publicKey]);
    expect(decodeRetiredKey(s.get(StateKeys.retiredKey(f.admins[0]!.publicKey))!)).toEqual({
      memberId: 'm0',
      height: 5,
    });
    expect(e.events).toContainEqual({ type: 'admin_keys_replaced', memberId: 'm0' });

    const add: GovernanceAction = { type: 'add_member', memberId: 'm9', name: 'New', adminKeys: [key(900).publicKey] };
    const byRetired = [...votes(f, 'p', add, [0]), ...votes(f, 'p', add, [1])];
    const byNew = [...votes(f, 'q', add, [0], next), ...votes(f, 'q', add, [1])];
    const after = run(s, [gov(f, 1, 'p', add, byRetired), gov(f, 2, 'q', add, byNew)], 6);
    expect(after.results[0]!.code).toBe('GOV_KEY_RETIRED');
    expect(after.results[0]!.message).toContain('retired at height 5');
    expect(after.results[1]!.code).toBe('OK');
  });

  it('takes effect inside its own block: a later tx of that block with the old key is refused', () => {
    const f = makeFixture(3);
    const s = WorldState.fromGenesis(f.genesis);
    const a = rotation(f, key(500));
    const add: GovernanceAction = { type: 'add_member', memberId: 'm9', name: 'New', adminKeys: [key(900).publicKey] };
    const e = run(s, [
      gov(f, 0, 'rot', a, votes(f, 'rot', a, [0, 1])),
      gov(f, 1, 'p', add, votes(f, 'p', add, [0, 1])),
    ]);
    expect(e.results.map((r) => r.code)).toEqual(['OK', 'GOV_KEY_RETIRED']);
  });

  it('refuses bad endorsements and bad key sets, changing nothing', () => {
    const f = makeFixture(3);
    const s = WorldState.fromGenesis(f.genesis);
    const next = key(500);
    const good = rotation(f, next);
    const byOther = rotation(f, next, 0, f.admins[1]!); // signed by m1's key for m0
    const wrongKeys: Replace = { ...good, newAdminKeys: [key(501).publicKey] }; // endorsement covers other keys
    const dup: Replace = { ...rotation(f, next), newAdminKeys: [next.publicKey, next.publicKey] };
    const none: Replace = { ...good, newAdminKeys: [] };
    const sameAsNow = rotation(f, f.admins[0]!);
    const othersKey = rotation(f, f.admins[1]!);
    const notAPoint = new Uint8Array(32);
    notAPoint[0] = 2;
    const offCurve: Replace = {
      ...good,
      newAdminKeys: [notAPoint],
      endorsement: signAdminKeyEndorsement(CHAIN, 'm0', [notAPoint], f.admins[0]!.secretKey, f.admins[0]!.publicKey),
    };
    const unknown: Replace = { ...good, memberId: 'nobody' };
    const cases: [Replace, string][] = [
      [byOther, 'GOV_BAD_ENDORSEMENT'],
      [wrongKeys, 'GOV_BAD_ENDORSEMENT'],
      [dup, 'GOV_INVALID_ACTION'],
      [none, 'GOV_INVALID_ACTION'],
      [sameAsNow, 'GOV_INVALID_ACTION'],
      [othersKey, 'GOV_INVALID_ACTION'],
      [offCurve, 'GOV_INVALID_ACTION'],
      [unknown, 'GOV_INVALID_ACTION'],
    ];
    const root = s.root();
    const e = run(
      s,
      cases.map(([a], i) => gov(f, i, `p${i}`, a, votes(f, `p${i}`, a, [0, 1, 2]))),
    );
    expect(e.results.map((r) => r.code)).toEqual(cases.map(([, c]) => c));
    expect(getMember(s, 'm0')!.adminKeys).toEqual([f.admins[0]!.publicKey]);
    expect(s.root()).not.toEqual(root); // only the nonces moved
    expect(s.get(StateKeys.retiredKey(f.admins[0]!.publicKey))).toBeUndefined();
  });

  it('never accepts a retired key again: as a new key, as an endorser, or for another member', () => {
    const f = makeFixture(3);
    const s = WorldState.fromGenesis(f.genesis);
    const next = key(500);
    const a = rotation(f, next);
    run(s, [gov(f, 0, 'rot', a, votes(f, 'rot', a, [0, 1]))]);
    const old = f.admins[0]!;
    // back to the old key, endorsed by the new one
    const back: Replace = {
      type: 'replace_admin_keys',
      memberId: 'm0',
      newAdminKeys: [old.publicKey],
      endorsement: signAdminKeyEndorsement(CHAIN, 'm0', [old.publicKey], next.secretKey, next.publicKey),
    };
    // an endorsement replayed from the retired key
    const replay = rotation(f, key(501), 0, old);
    const joinWithOld: GovernanceAction = { type: 'add_member', memberId: 'm9', name: 'x', adminKeys: [old.publicKey] };
    const vs = (pid: string, x: GovernanceAction) => [...votes(f, pid, x, [0], next), ...votes(f, pid, x, [1, 2])];
    const e = run(
      s,
      [
        gov(f, 1, 'b', back, vs('b', back)),
        gov(f, 2, 'r', replay, vs('r', replay)),
        gov(f, 3, 'j', joinWithOld, vs('j', joinWithOld)),
      ],
      2,
    );
    expect(e.results.map((r) => r.code)).toEqual(['GOV_KEY_RETIRED', 'GOV_KEY_RETIRED', 'GOV_KEY_RETIRED']);
  });

  it('refuses a register_node tx signed by a retired admin key with GOV_KEY_RETIRED', () => {
    const f = makeFixture(3);
    const s = WorldState.fromGenesis(f.genesis);
    const a = rotation(f, key(500));
    run(s, [gov(f, 0, 'rot', a, votes(f, 'rot', a, [0, 1]))]);
    const old = f.admins[0]!;
    const node = key(600).publicKey;
    const reg: GovernanceAction = { type: 'register_node', memberId: 'm0', publicKey: node, role: 'ordinary' };
    const e = run(
      s,
      [stx(f.alice, 1, { type: 'governance', proposalId: 'n', action: reg, votes: votes(f, 'n', reg, [0], old) })],
      2,
    );
    expect(e.results[0]!.code).toBe('GOV_KEY_RETIRED');
  });
});

describe('lost-key recovery on chain', () => {
  it("passes on the policy over the other members only; the member's own vote is refused", () => {
    // 4 members, > 50%: normally 3 YES of 4; recovery of m0: 2 YES of the other 3 suffice
    const f = makeFixture(4);
    const s = WorldState.fromGenesis(f.genesis);
    const next = key(500);
    const a: Replace = {
      type: 'replace_admin_keys',
      memberId: 'm0',
      newAdminKeys: [next.publicKey],
      endorsement: null,
    };
    const e = run(s, [
      gov(f, 0, 'r1', a, votes(f, 'r1', a, [1])),
      gov(f, 1, 'r2', a, votes(f, 'r2', a, [0, 1, 2])),
      gov(f, 2, 'r3', a, votes(f, 'r3', a, [1, 2])),
    ]);
    expect(e.results.map((r) => r.code)).toEqual(['GOV_THRESHOLD_NOT_MET', 'GOV_INVALID_ACTION', 'OK']);
    expect(e.results[1]!.message).toContain('does not vote');
    expect(getMember(s, 'm0')!.adminKeys).toEqual([next.publicKey]);
    expect(s.get(StateKeys.retiredKey(f.admins[0]!.publicKey))).toBeDefined();
  });

  it('is impossible for the only member (nobody else to vote)', () => {
    const f = makeFixture(1);
    const s = WorldState.fromGenesis(f.genesis);
    const a: Replace = {
      type: 'replace_admin_keys',
      memberId: 'm0',
      newAdminKeys: [key(500).publicKey],
      endorsement: null,
    };
    const e = run(s, [gov(f, 0, 'r', a, votes(f, 'r', a, [0]))]);
    expect(e.results[0]!.code).toBe('GOV_INVALID_ACTION');
    expect(e.results[0]!.message).toContain('another member');
  });
});
