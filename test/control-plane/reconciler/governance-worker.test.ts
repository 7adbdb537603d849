import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeTx,
  generateKeyPair,
  governanceVotePayload,
  toHex,
  verifyDomain,
  verifyTxSignature,
  fromHex,
} from '../../../src/chain/index.js';
import { GovernanceWorker, type ChainClient, type SubmitResult } from '../../../src/control-plane/reconciler/index.js';
import { repositories } from '../../../src/control-plane/store/index.js';
import {
  call,
  createConsortium,
  createOrg,
  signVote,
  startHarness,
  type Harness,
  type OrgFixture,
} from '../helpers.js';

class FakeChain implements ChainClient {
  accounts = new Map<string, number>();
  submitted: string[] = [];
  next: Partial<SubmitResult> | null = null;
  async accountNonce(_api: string, pk: string) {
    return this.accounts.get(pk) ?? null;
  }
  async submit(_api: string, txHex: string): Promise<SubmitResult> {
    this.submitted.push(txHex);
    const tx = decodeTx(fromHex(txHex));
    const pk = toHex(tx.signer);
    if (tx.body.type === 'create_account') this.accounts.set(pk, 1);
    else this.accounts.set(pk, (this.accounts.get(pk) ?? 0) + 1);
    if (this.next && tx.body.type === 'governance') return { ok: false, code: 'X', retry: false, ...this.next };
    return { ok: true, code: 'OK', retry: false, hash: 'ab'.repeat(32), height: 7 };
  }
}

describe('governance worker', () => {
  let h: Harness;
  let orgs: OrgFixture[];
  let newcomer: OrgFixture;
  const submitter = generateKeyPair();

  beforeAll(async () => {
    h = await startHarness();
    orgs = [await createOrg(h, 'A'), await createOrg(h, 'B'), await createOrg(h, 'C')];
    newcomer = await createOrg(h, 'N');
  });
  afterAll(async () => h.close());

  /** Governance txs the worker submitted for one proposal (a pass also executes other tests' proposals). */
  const submittedFor = (chain: FakeChain, pid: string) =>
    chain.submitted
      .map((x) => decodeTx(fromHex(x)).body)
      .filter((b) => b.type === 'governance' && b.proposalId === pid);

  async function answer(
    c: { id: string; chainId: string },
    p: { id: string; actionHash: string },
    vote: 'YES' | 'NO',
    as = newcomer,
  ) {
    const { memberId: _m, ...signed } = signVote(as, c.chainId, p.id, p.actionHash, vote);
    return call(h, 'POST', `/v1/consortia/${c.id}/proposals/${p.id}/invitation`, as.adminToken, {
      orgId: newcomer.id,
      ...signed,
    });
  }

  async function approvedInvite(active: boolean, accept = true) {
    const c = await createConsortium(
      h,
      orgs[0]!,
      orgs.map((o) => o.id),
    );
    if (active) {
      await h.store.transact(async (uow) => {
        const repo = repositories(uow);
        const cons = (await repo.consortia.get(c.id))!;
        await repo.consortia.put({ ...cons, status: 'ACTIVE' });
        const at = new Date().toISOString();
        await repo.nodes.put({
          id: 'node_x',
          consortiumId: c.id,
          orgId: orgs[0]!.id,
          role: 'validator',
          clusterId: 'local',
          tier: {},
          resources: { cpu: '1', memory: '1Gi' },
          desired: 'present',
          mode: 'run',
          generation: 1,
          createdAt: at,
          version: 0,
          status: {
            phase: 'Running',
            ready: true,
            endpoints: { api: 'http://127.0.0.9:1', p2p: '127.0.0.9:2', metrics: 'http://127.0.0.9:1/metrics' },
          },
        });
      });
    }
    const p = (
      await call(h, 'POST', `/v1/consortia/${c.id}/proposals`, orgs[0]!.adminToken, {
        action: { type: 'invite_member', orgId: newcomer.id },
      })
    ).json();
    for (const o of orgs.slice(0, 2))
      await call(
        h,
        'POST',
        `/v1/consortia/${c.id}/proposals/${p.id}/votes`,
        o.adminToken,
        signVote(o, c.chainId, p.id, p.actionHash, 'YES'),
      );
    expect((await call(h, 'GET', `/v1/consortia/${c.id}/proposals/${p.id}`, orgs[0]!.adminToken)).json().status).toBe(
      'APPROVED',
    );
    if (accept) expect((await answer(c, p, 'YES')).json().invitation.status).toBe('ACCEPTED');
    return { c, p };
  }

  it('an approved invitation executes only once the invited organization accepted it, signed with its own admin key', async () => {
    const chain = new FakeChain();
    const w = new GovernanceWorker({ store: h.store, bus: h.ctx.bus, submitter, chain, now: () => h.clock.ms });
    const { c, p } = await approvedInvite(true, false);
    await w.pass();
    expect(submittedFor(chain, p.id)).toEqual([]);
    const waiting = (await call(h, 'GET', `/v1/consortia/${c.id}/proposals/${p.id}`, newcomer.viewerToken)).json();
    expect(waiting).toMatchObject({ status: 'APPROVED', invitation: { status: 'PENDING' } });
    expect(
      (await call(h, 'GET', `/v1/organizations/${newcomer.id}/invitations`, newcomer.viewerToken))
        .json()
        .items.map((x: { id: string }) => x.id),
    ).toContain(p.id);
    // a member cannot answer for the invitee; a signature by another organization's key is refused
    expect((await answer(c, p, 'YES', orgs[0]!)).statusCode).toBe(403);
    const { memberId: _m, ...foreign } = signVote(orgs[0]!, c.chainId, p.id, p.actionHash, 'YES');
    const wrongKey = await call(h, 'POST', `/v1/consortia/${c.id}/proposals/${p.id}/invitation`, newcomer.adminToken, {
      orgId: newcomer.id,
      ...foreign,
    });
    expect(wrongKey.json().error.code).toBe('INVALID_SIGNATURE');
    await w.pass();
    expect(submittedFor(chain, p.id)).toEqual([]);
    expect((await answer(c, p, 'YES')).statusCode).toBe(200);
    expect((await answer(c, p, 'YES')).json().error.code).toBe('PROPOSAL_CLOSED');
    await w.pass();
    expect((await call(h, 'GET', `/v1/consortia/${c.id}/proposals/${p.id}`, orgs[0]!.adminToken)).json().status).toBe(
      'EXECUTED',
    );
    expect(
      (await call(h, 'GET', `/v1/organizations/${newcomer.id}/invitations`, newcomer.viewerToken)).json().items,
    ).toEqual([]);
  });

  it('a declined invitation is rejected and never executes', async () => {
    const chain = new FakeChain();
    const w = new GovernanceWorker({ store: h.store, bus: h.ctx.bus, submitter, chain, now: () => h.clock.ms });
    const { c, p } = await approvedInvite(true, false);
    const declined = await answer(c, p, 'NO');
    expect(declined.json()).toMatchObject({ status: 'REJECTED', invitation: { status: 'DECLINED' } });
    await w.pass();
    expect(submittedFor(chain, p.id)).toEqual([]);
    expect(
      (await call(h, 'GET', `/v1/consortia/${c.id}/members`, orgs[0]!.adminToken))
        .json()
        .items.map((m: { memberId: string }) => m.memberId),
    ).not.toContain(newcomer.id);
  });

  it('executes on chain: governance tx with the signed votes, signed by the submitter (not an org key)', async () => {
    const chain = new FakeChain();
    const w = new GovernanceWorker({ store: h.store, bus: h.ctx.bus, submitter, chain, now: () => h.clock.ms });
    const { c, p } = await approvedInvite(true);
    await w.pass();
    const got = (await call(h, 'GET', `/v1/consortia/${c.id}/proposals/${p.id}`, orgs[0]!.adminToken)).json();
    expect(got.status).toBe('EXECUTED');
    expect(got.execution).toMatchObject({ onChain: true, height: 7 });
    expect(chain.submitted.length).toBe(2); // create_account + governance
    const tx = decodeTx(fromHex(chain.submitted[1]!));
    expect(verifyTxSignature(tx)).toBe(true);
    expect(toHex(tx.signer)).toBe(toHex(submitter.publicKey));
    expect(orgs.map((o) => toHex(o.key.publicKey))).not.toContain(toHex(tx.signer));
    if (tx.body.type !== 'governance') throw new Error('not governance');
    expect(tx.body.proposalId).toBe(p.id);
    expect(tx.body.action).toMatchObject({ type: 'add_member', memberId: newcomer.id });
    expect(tx.body.votes.length).toBe(2);
    for (const v of tx.body.votes)
      expect(
        verifyDomain(
          'consortia/gov-vote/v1',
          v.adminKey,
          governanceVotePayload(c.chainId, p.id, fromHex(p.actionHash, 32), v.vote),
          v.signature,
        ),
      ).toBe(true);
    const members = (await call(h, 'GET', `/v1/consortia/${c.id}/members`, newcomer.viewerToken)).json().items;
    expect(members.map((m: { memberId: string }) => m.memberId)).toContain(newcomer.id);
  });

  it('chain rejection -> EXECUTION_FAILED with the code, membership unchanged', async () => {
    const chain = new FakeChain();
    chain.next = { code: 'GOV_THRESHOLD_NOT_MET' };
    const w = new GovernanceWorker({ store: h.store, bus: h.ctx.bus, submitter, chain, now: () => h.clock.ms });
    const { c, p } = await approvedInvite(true);
    await w.pass();
    const got = (await call(h, 'GET', `/v1/consortia/${c.id}/proposals/${p.id}`, orgs[0]!.adminToken)).json();
    expect(got.status).toBe('EXECUTION_FAILED');
    expect(got.execution.code).toBe('GOV_THRESHOLD_NOT_MET');
    expect((await call(h, 'GET', `/v1/consortia/${c.id}/members`, orgs[0]!.adminToken)).json().items.length).toBe(3);
  });

  it('before genesis the effect applies to the control plane only; expiry is swept', async () => {
    const chain = new FakeChain();
    const w = new GovernanceWorker({ store: h.store, bus: h.ctx.bus, submitter, chain, now: () => h.clock.ms });
    const { c, p } = await approvedInvite(false);
    const open = (
      await call(h, 'POST', `/v1/consortia/${c.id}/proposals`, orgs[0]!.adminToken, {
        action: { type: 'change_params', params: { blockIntervalMs: 800 } },
      })
    ).json();
    const t0 = h.clock.ms;
    h.clock.ms = Date.parse(open.expiresAt);
    await w.pass();
    h.clock.ms = t0;
    expect(submittedFor(chain, p.id)).toEqual([]);
    const got = (await call(h, 'GET', `/v1/consortia/${c.id}/proposals/${p.id}`, orgs[0]!.adminToken)).json();
    expect(got.status).toBe('EXECUTED');
    expect(got.execution.onChain).toBe(false);
    expect((await call(h, 'GET', `/v1/consortia/${c.id}/members`, orgs[0]!.adminToken)).json().items.length).toBe(4);
    expect(
      (await call(h, 'GET', `/v1/consortia/${c.id}/proposals/${open.id}`, orgs[0]!.adminToken)).json().status,
    ).toBe('EXPIRED');
  });
});
