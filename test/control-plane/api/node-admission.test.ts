/**
 * Node requests after genesis: tier settings validated per role, and on-chain admission of a
 * non-validator node by its organization's signed registration, relayed by the control plane.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeTx,
  fromHex,
  generateKeyPair,
  governanceActionHash,
  governanceVotePayload,
  toHex,
  verifyDomain,
} from '../../../src/chain/index.js';
import { ChangeBus } from '../../../src/control-plane/domain/events.js';
import {
  GovernanceWorker,
  Reconciler,
  RuntimeResolver,
  type ChainClient,
  type SubmitResult,
} from '../../../src/control-plane/reconciler/index.js';
import { queries, repositories } from '../../../src/control-plane/store/index.js';
import { FakeRuntime, FakeWorld } from '../fake-runtime.js';
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
  submitted: string[] = [];
  refuse: string | null = null;
  async accountNonce(): Promise<number | null> {
    return 1;
  }
  async submit(_api: string, txHex: string): Promise<SubmitResult> {
    this.submitted.push(txHex);
    if (this.refuse) return { ok: false, code: this.refuse, retry: false, message: 'refused by the chain' };
    return { ok: true, code: 'OK', retry: false, hash: 'cd'.repeat(32), height: 9 };
  }
}

describe('node requests after genesis', () => {
  let h: Harness;
  let a: OrgFixture;
  let b: OrgFixture;
  let cid = '';
  let chainId = '';
  const world = new FakeWorld();
  let reconciler: Reconciler;

  beforeAll(async () => {
    h = await startHarness();
    a = await createOrg(h, 'A');
    b = await createOrg(h, 'B');
    const c = await createConsortium(h, a, [a.id, b.id]);
    cid = c.id;
    chainId = c.chainId;
    // a consortium whose genesis is sealed, with one running genesis validator
    await h.store.transact(async (uow) => {
      const repo = repositories(uow);
      const cons = (await repo.consortia.get(cid))!;
      await repo.consortia.put({ ...cons, status: 'ACTIVE' });
      const at = new Date(h.clock.ms).toISOString();
      const genesis = {
        chainId,
        genesisTime: h.clock.ms,
        params: { ...cons.params, votingPolicy: cons.votingPolicy },
        members: [a, b].map((o) => ({ memberId: o.id, name: o.name, adminKeys: [toHex(o.key.publicKey)] })),
        validators: [],
        nodes: [],
      };
      await repo.ceremonies.create({
        consortiumId: cid,
        status: 'SEALED',
        nodeIds: ['node_genesis'],
        genesis,
        genesisHash: '00'.repeat(32),
        approvals: [],
        transcript: [],
        startedAt: at,
        sealedAt: at,
        version: 0,
      });
      await repo.nodes.put({
        id: 'node_genesis',
        consortiumId: cid,
        orgId: a.id,
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
    const runtimes = new RuntimeResolver({
      local: new FakeRuntime(world),
      loadCluster: (id) => queries(h.store).cluster(id),
    });
    reconciler = new Reconciler({
      store: h.store,
      bus: new ChangeBus(),
      runtimes,
      now: () => h.clock.ms,
      fetchStatus: async () => ({ height: 42, storage: { lowestHeight: 30, highestHeight: 42, bytes: 123_456 } }),
    });
  });
  afterAll(async () => h.close());

  const nodes = async () =>
    (await call(h, 'GET', `/v1/consortia/${cid}/nodes`, a.viewerToken)).json().items as { id: string }[];
  const node = async (id: string) => (await call(h, 'GET', `/v1/consortia/${cid}/nodes/${id}`, b.viewerToken)).json();
  const request = (org: OrgFixture, body: object) =>
    call(h, 'POST', `/v1/consortia/${cid}/nodes`, org.operatorToken, { orgId: org.id, clusterId: 'local', ...body });

  it('refuses tier settings that do not apply to the role: 400 INVALID_TIER naming the field, nothing created', async () => {
    const before = (await nodes()).length;
    const cases: [object, string][] = [
      [{ role: 'validator', tier: { retentionBlocks: 100 } }, 'tier.retentionBlocks'],
      [{ role: 'super', tier: { retentionSeconds: 60 } }, 'tier.retentionSeconds'],
      [{ role: 'light', tier: { retentionBlocks: 5 } }, 'tier.retentionBlocks'],
      [{ role: 'ordinary', tier: { followAccounts: ['ab'.repeat(32)] } }, 'tier.followAccounts'],
      [{ role: 'light', tier: { followAccounts: ['ab'.repeat(32), 'ab'.repeat(32)] } }, 'tier.followAccounts'],
    ];
    for (const [body, field] of cases) {
      const r = await request(b, body);
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expect(r.json().error.code).toBe('INVALID_TIER');
      expect(r.json().error.details.field).toBe(field);
    }
    const schema = await request(b, { role: 'ordinary', tier: { retentionBlocks: 0 } });
    expect(schema.statusCode).toBe(400);
    expect(JSON.stringify(schema.json().error)).toContain('retentionBlocks');
    expect((await nodes()).length).toBe(before);
  });

  it('accepts retention for ordinary and followed accounts for light, and stores them', async () => {
    const o = await request(b, { role: 'ordinary', tier: { retentionBlocks: 500, retentionSeconds: 3600 } });
    expect(o.statusCode).toBe(202);
    expect(o.json().tier).toEqual({ retentionBlocks: 500, retentionSeconds: 3600 });
    const follow = toHex(generateKeyPair().publicKey);
    const l = await request(b, { role: 'light', tier: { followAccounts: [follow] } });
    expect(l.statusCode).toBe(202);
    expect(l.json().tier).toEqual({ followAccounts: [follow] });
    for (const id of [o.json().id, l.json().id])
      await call(h, 'DELETE', `/v1/consortia/${cid}/nodes/${id}`, b.operatorToken);
  });

  it('a non-validator node outside genesis waits in keygen mode until its organization signs its registration', async () => {
    const r = await request(b, { role: 'ordinary', tier: { retentionBlocks: 100 } });
    expect(r.statusCode).toBe(202);
    const id = r.json().id as string;
    expect(r.json()).toMatchObject({
      mode: 'keygen',
      registration: { status: 'AWAITING_IDENTITY', proposalId: `node-registration-${id}` },
    });
    await reconciler.pass();
    const n = await node(id);
    expect(n.status.identity.verified).toBe(true);
    expect(n.registration.status).toBe('AWAITING_SIGNATURE');
    expect(n.registration.action).toEqual({
      type: 'register_node',
      memberId: b.id,
      publicKey: n.status.identity.publicKey,
      role: 'ordinary',
    });
    expect(n.registration.actionHash).toBe(
      toHex(
        governanceActionHash({
          type: 'register_node',
          memberId: b.id,
          publicKey: fromHex(n.status.identity.publicKey, 32),
          role: 'ordinary',
        }),
      ),
    );
    expect(world.nodes.get(id)!.spec.mode).toBe('keygen'); // no genesis handed out yet

    const url = `/v1/consortia/${cid}/nodes/${id}/registration`;
    const good = signVote(b, chainId, n.registration.proposalId, n.registration.actionHash, 'YES');
    const body = { memberId: b.id, adminKey: good.adminKey, signature: good.signature };
    // A cannot sign for B; a signature by A's key in B's name is invalid; a NO vote signature does not verify as YES
    expect((await call(h, 'POST', url, a.adminToken, body)).statusCode).toBe(403);
    const asA = signVote(a, chainId, n.registration.proposalId, n.registration.actionHash, 'YES');
    const wrongKey = await call(h, 'POST', url, b.adminToken, {
      memberId: b.id,
      adminKey: asA.adminKey,
      signature: asA.signature,
    });
    expect(wrongKey.statusCode).toBe(400);
    expect(wrongKey.json().error.code).toBe('INVALID_SIGNATURE');
    const no = signVote(b, chainId, n.registration.proposalId, n.registration.actionHash, 'NO');
    expect(
      (
        await call(h, 'POST', url, b.adminToken, { memberId: b.id, adminKey: no.adminKey, signature: no.signature })
      ).json().error.code,
    ).toBe('INVALID_SIGNATURE');
    expect((await call(h, 'POST', url, b.operatorToken, body)).statusCode).toBe(403);
    expect((await node(id)).registration.status).toBe('AWAITING_SIGNATURE');

    const ok = await call(h, 'POST', url, b.adminToken, body);
    expect(ok.statusCode).toBe(200);
    expect(ok.json().registration.status).toBe('SIGNED');
    expect((await call(h, 'POST', url, b.adminToken, body)).json().error.code).toBe('INVALID_STATE');

    const chain = new FakeChain();
    let kicked = 0;
    const w = new GovernanceWorker({
      store: h.store,
      bus: h.ctx.bus,
      submitter: generateKeyPair(),
      chain,
      now: () => h.clock.ms,
      kickNodes: () => kicked++,
    });
    await w.pass();
    expect(chain.submitted.length).toBe(1);
    const tx = decodeTx(fromHex(chain.submitted[0]!));
    if (tx.body.type !== 'governance') throw new Error('not a governance tx');
    expect(tx.body.proposalId).toBe(n.registration.proposalId);
    expect(tx.body.action).toMatchObject({ type: 'register_node', memberId: b.id, role: 'ordinary' });
    expect(tx.body.votes).toHaveLength(1);
    const v = tx.body.votes[0]!;
    expect(v.memberId).toBe(b.id);
    expect(
      verifyDomain(
        'consortia/gov-vote/v1',
        v.adminKey,
        governanceVotePayload(chainId, n.registration.proposalId, fromHex(n.registration.actionHash, 32), 'YES'),
        v.signature,
      ),
    ).toBe(true);
    expect(kicked).toBe(1);
    const done = await node(id);
    expect(done).toMatchObject({
      mode: 'run',
      registration: { status: 'REGISTERED', txHash: 'cd'.repeat(32), height: 9 },
    });

    // now it runs with the sealed genesis and dials the genesis validator; the validator's spec is unchanged
    const validatorSpecBefore = await queries(h.store).node(cid, 'node_genesis');
    await reconciler.pass();
    await reconciler.pass();
    expect(world.nodes.get(id)!.spec.mode).toBe('run');
    const genesisNode = (await queries(h.store).node(cid, 'node_genesis'))!;
    expect(world.nodes.get(id)!.spec.peers).toEqual([
      { publicKey: genesisNode.status.identity!.publicKey, address: genesisNode.status.endpoints!.p2p },
    ]);
    expect(world.nodes.get('node_genesis')!.spec.peers).toEqual([]);
    expect((await queries(h.store).node(cid, 'node_genesis'))!.generation).toBe(validatorSpecBefore!.generation);
    // status reports height, retained range and bytes on disk
    const running = await node(id);
    expect(running.status).toMatchObject({
      ready: true,
      height: 42,
      storage: { lowestHeight: 30, highestHeight: 42, bytes: 123_456 },
    });
  });

  it('a registration the chain refuses ends FAILED with its code and the node stays out', async () => {
    const r = await request(b, { role: 'super' });
    const id = r.json().id as string;
    await reconciler.pass();
    const reg = (await node(id)).registration;
    const s = signVote(b, chainId, reg.proposalId, reg.actionHash, 'YES');
    expect(
      (
        await call(h, 'POST', `/v1/consortia/${cid}/nodes/${id}/registration`, b.adminToken, {
          memberId: b.id,
          adminKey: s.adminKey,
          signature: s.signature,
        })
      ).statusCode,
    ).toBe(200);
    const chain = new FakeChain();
    chain.refuse = 'GOV_UNKNOWN_MEMBER';
    await new GovernanceWorker({
      store: h.store,
      bus: h.ctx.bus,
      submitter: generateKeyPair(),
      chain,
      now: () => h.clock.ms,
    }).pass();
    expect(await node(id)).toMatchObject({
      mode: 'keygen',
      registration: { status: 'FAILED', code: 'GOV_UNKNOWN_MEMBER' },
    });
  });

  it('validators are never registered this way (they join by add_validator proposal)', async () => {
    const r = await request(b, { role: 'validator' });
    expect(r.statusCode).toBe(202);
    expect(r.json().registration).toBeUndefined();
  });
});
