import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, signDomain, governanceVotePayload, fromHex, toHex } from '../../../src/chain/index.js';
import {
  call,
  createConsortium,
  createOrg,
  signVote,
  startHarness,
  type Harness,
  type OrgFixture,
} from '../helpers.js';

describe('proposals and signed votes', () => {
  let h: Harness;
  let orgs: OrgFixture[];
  let outsider: OrgFixture;

  beforeAll(async () => {
    h = await startHarness();
    orgs = [];
    for (const n of ['A', 'B', 'C', 'D']) orgs.push(await createOrg(h, n));
    outsider = await createOrg(h, 'E');
  });
  afterAll(async () => h.close());

  async function consortium(comparator: string, pct = 50, duration = 3600) {
    return createConsortium(
      h,
      orgs[0]!,
      orgs.map((o) => o.id),
      { thresholdPercentage: pct, thresholdComparator: comparator, proposalDurationSeconds: duration },
    );
  }
  async function propose(cid: string, action: object = { type: 'change_params', params: { blockIntervalMs: 700 } }) {
    const r = await call(h, 'POST', `/v1/consortia/${cid}/proposals`, orgs[0]!.adminToken, { action });
    expect(r.statusCode).toBe(201);
    return r.json() as { id: string; actionHash: string; status: string; chainId: string; expiresAt: string };
  }
  async function vote(
    cid: string,
    chainId: string,
    p: { id: string; actionHash: string },
    org: OrgFixture,
    v: 'YES' | 'NO',
  ) {
    return call(
      h,
      'POST',
      `/v1/consortia/${cid}/proposals/${p.id}/votes`,
      org.adminToken,
      signVote(org, chainId, p.id, p.actionHash, v),
    );
  }

  it('proposal carries actionHash, IN_PROGRESS and expiresAt = created + duration', async () => {
    const c = await consortium('GREATER_THAN', 50, 120);
    const p = await propose(c.id);
    expect(p.status).toBe('IN_PROGRESS');
    expect(p.actionHash).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(p.expiresAt) - h.clock.ms).toBe(120_000);
  });

  it('GREATER_THAN 50% of 4: 2 YES stays open, 3rd YES approves', async () => {
    const c = await consortium('GREATER_THAN');
    const p = await propose(c.id);
    expect((await vote(c.id, c.chainId, p, orgs[0]!, 'YES')).json().status).toBe('IN_PROGRESS');
    expect((await vote(c.id, c.chainId, p, orgs[1]!, 'YES')).json().status).toBe('IN_PROGRESS');
    const r = await vote(c.id, c.chainId, p, orgs[2]!, 'YES');
    expect(r.json().status).toBe('APPROVED');
    expect(r.json().yesVotes).toBe(3);
    // closed now
    expect((await vote(c.id, c.chainId, p, orgs[3]!, 'YES')).statusCode).toBe(409);
  });

  it('GREATER_THAN 50% of 4: 1 NO stays open, 2nd NO rejects (cannot exceed 50%)', async () => {
    const c = await consortium('GREATER_THAN');
    const p = await propose(c.id);
    expect((await vote(c.id, c.chainId, p, orgs[0]!, 'NO')).json().status).toBe('IN_PROGRESS');
    expect((await vote(c.id, c.chainId, p, orgs[1]!, 'NO')).json().status).toBe('REJECTED');
    // decided: a further vote is refused naming the outcome; a replay is still named a replay
    const late = await vote(c.id, c.chainId, p, orgs[2]!, 'YES');
    expect(late.statusCode).toBe(409);
    expect(late.json().error).toMatchObject({
      code: 'PROPOSAL_CLOSED',
      details: { status: 'REJECTED', yesVotes: 0, noVotes: 2 },
    });
    const replay = await vote(c.id, c.chainId, p, orgs[0]!, 'NO');
    expect(replay.statusCode).toBe(409);
    expect(replay.json().error.code).toBe('ALREADY_VOTED');
    expect(
      (await call(h, 'GET', `/v1/consortia/${c.id}/proposals/${p.id}`, orgs[2]!.viewerToken)).json(),
    ).toMatchObject({ status: 'REJECTED', noVotes: 2, yesVotes: 0 });
  });

  it('GREATER_THAN_OR_EQUAL_TO 50% of 4: 2 YES approves; 2 NO stays open, 3rd NO rejects', async () => {
    const c = await consortium('GREATER_THAN_OR_EQUAL_TO');
    const p = await propose(c.id);
    expect((await vote(c.id, c.chainId, p, orgs[0]!, 'YES')).json().status).toBe('IN_PROGRESS');
    expect((await vote(c.id, c.chainId, p, orgs[1]!, 'YES')).json().status).toBe('APPROVED');
    const q = await propose(c.id);
    expect((await vote(c.id, c.chainId, q, orgs[0]!, 'NO')).json().status).toBe('IN_PROGRESS');
    expect((await vote(c.id, c.chainId, q, orgs[1]!, 'NO')).json().status).toBe('IN_PROGRESS');
    expect((await vote(c.id, c.chainId, q, orgs[2]!, 'NO')).json().status).toBe('REJECTED');
  });

  it('EXPIRED exactly at expiresAt: a vote 1 ms before counts, a vote at expiresAt is refused', async () => {
    const c = await consortium('GREATER_THAN', 50, 60);
    const p = await propose(c.id);
    const start = h.clock.ms;
    h.clock.ms = start + 60_000 - 1;
    expect((await vote(c.id, c.chainId, p, orgs[0]!, 'YES')).json().status).toBe('IN_PROGRESS');
    h.clock.ms = start + 60_000;
    const late = await vote(c.id, c.chainId, p, orgs[1]!, 'YES');
    expect(late.statusCode).toBe(409);
    expect(late.json().error.code).toBe('PROPOSAL_CLOSED');
    const got = (await call(h, 'GET', `/v1/consortia/${c.id}/proposals/${p.id}`, orgs[1]!.viewerToken)).json();
    expect(got.status).toBe('EXPIRED');
    expect(got.yesVotes).toBe(1);
    h.clock.ms = start;
  });

  it('forged vote -> 400 INVALID_SIGNATURE, nothing recorded', async () => {
    const c = await consortium('GREATER_THAN');
    const p = await propose(c.id);
    const good = signVote(orgs[1]!, c.chainId, p.id, p.actionHash, 'YES');
    // signed NO but claims YES
    const flipped = { ...signVote(orgs[1]!, c.chainId, p.id, p.actionHash, 'NO'), vote: 'YES' };
    const r1 = await call(h, 'POST', `/v1/consortia/${c.id}/proposals/${p.id}/votes`, orgs[1]!.adminToken, flipped);
    expect(r1.statusCode).toBe(400);
    expect(r1.json().error.code).toBe('INVALID_SIGNATURE');
    // signed by a key that is not the org's admin key
    const rogue = generateKeyPair();
    const sig = toHex(
      signDomain(
        'consortia/gov-vote/v1',
        rogue.secretKey,
        governanceVotePayload(c.chainId, p.id, fromHex(p.actionHash, 32), 'YES'),
      ),
    );
    const r2 = await call(h, 'POST', `/v1/consortia/${c.id}/proposals/${p.id}/votes`, orgs[1]!.adminToken, {
      ...good,
      adminKey: toHex(rogue.publicKey),
      signature: sig,
    });
    expect(r2.statusCode).toBe(400);
    expect(r2.json().error.code).toBe('INVALID_SIGNATURE');
    // right key, garbage signature
    const r3 = await call(h, 'POST', `/v1/consortia/${c.id}/proposals/${p.id}/votes`, orgs[1]!.adminToken, {
      ...good,
      signature: 'ab'.repeat(64),
    });
    expect(r3.statusCode).toBe(400);
    // a valid vote from another proposal replayed here
    const other = await propose(c.id);
    const fromOther = signVote(orgs[1]!, c.chainId, other.id, other.actionHash, 'YES');
    const r4 = await call(h, 'POST', `/v1/consortia/${c.id}/proposals/${p.id}/votes`, orgs[1]!.adminToken, fromOther);
    expect(r4.statusCode).toBe(400);
    const got = (await call(h, 'GET', `/v1/consortia/${c.id}/proposals/${p.id}`, orgs[1]!.viewerToken)).json();
    expect(got.votes).toEqual([]);
  });

  it('replayed / duplicate vote -> 409 ALREADY_VOTED, counted once', async () => {
    const c = await consortium('GREATER_THAN');
    const p = await propose(c.id);
    const body = signVote(orgs[1]!, c.chainId, p.id, p.actionHash, 'YES');
    expect(
      (await call(h, 'POST', `/v1/consortia/${c.id}/proposals/${p.id}/votes`, orgs[1]!.adminToken, body)).statusCode,
    ).toBe(200);
    const again = await call(h, 'POST', `/v1/consortia/${c.id}/proposals/${p.id}/votes`, orgs[1]!.adminToken, body);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('ALREADY_VOTED');
    const changed = await call(
      h,
      'POST',
      `/v1/consortia/${c.id}/proposals/${p.id}/votes`,
      orgs[1]!.adminToken,
      signVote(orgs[1]!, c.chainId, p.id, p.actionHash, 'NO'),
    );
    expect(changed.statusCode).toBe(409);
    expect(
      (await call(h, 'GET', `/v1/consortia/${c.id}/proposals/${p.id}`, orgs[1]!.viewerToken)).json().yesVotes,
    ).toBe(1);
  });

  it('non-members cannot vote: invisible consortium 404, invited-but-not-member 403, voting for another org 403', async () => {
    const c = await consortium('GREATER_THAN');
    const p = await propose(c.id);
    const asOutsider = signVote(outsider, c.chainId, p.id, p.actionHash, 'YES');
    expect(
      (await call(h, 'POST', `/v1/consortia/${c.id}/proposals/${p.id}/votes`, outsider.adminToken, asOutsider))
        .statusCode,
    ).toBe(404);
    const invite = await propose(c.id, { type: 'invite_member', orgId: outsider.id });
    expect(invite.status).toBe('IN_PROGRESS');
    const r = await call(h, 'POST', `/v1/consortia/${c.id}/proposals/${p.id}/votes`, outsider.adminToken, asOutsider);
    expect(r.statusCode).toBe(403);
    expect(r.json().error.code).toBe('NOT_A_MEMBER');
    const r2 = await call(
      h,
      'POST',
      `/v1/consortia/${c.id}/proposals/${invite.id}/votes`,
      outsider.adminToken,
      signVote(outsider, c.chainId, invite.id, invite.actionHash, 'YES'),
    );
    expect(r2.statusCode).toBe(403);
    // B's token voting in A's name, even with A's valid signature
    const r3 = await call(
      h,
      'POST',
      `/v1/consortia/${c.id}/proposals/${p.id}/votes`,
      orgs[1]!.adminToken,
      signVote(orgs[0]!, c.chainId, p.id, p.actionHash, 'YES'),
    );
    expect(r3.statusCode).toBe(403);
    // a viewer of A cannot vote for A
    const r4 = await call(
      h,
      'POST',
      `/v1/consortia/${c.id}/proposals/${p.id}/votes`,
      orgs[0]!.viewerToken,
      signVote(orgs[0]!, c.chainId, p.id, p.actionHash, 'YES'),
    );
    expect(r4.statusCode).toBe(403);
    expect(
      (await call(h, 'GET', `/v1/consortia/${c.id}/proposals/${p.id}`, orgs[0]!.viewerToken)).json().votes,
    ).toEqual([]);
  });

  it('invalid actions are 400 INVALID_ACTION', async () => {
    const c = await consortium('GREATER_THAN');
    const r = await call(h, 'POST', `/v1/consortia/${c.id}/proposals`, orgs[0]!.adminToken, {
      action: { type: 'invite_member', orgId: orgs[1]!.id },
    });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('INVALID_ACTION');
    const r2 = await call(h, 'POST', `/v1/consortia/${c.id}/proposals`, orgs[0]!.adminToken, {
      action: { type: 'add_validator', nodeId: 'node_nope' },
    });
    expect(r2.statusCode).toBe(400);
    const r3 = await call(h, 'POST', `/v1/consortia/${c.id}/proposals`, orgs[0]!.adminToken, {
      action: { type: 'frobnicate' },
    });
    expect(r3.statusCode).toBe(400);
    expect(r3.json().error.code).toBe('VALIDATION_FAILED');
  });
});
