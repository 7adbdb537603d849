import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fromHex,
  genesisHash,
  sealedGenesisFromJSON,
  signDomain,
  toHex,
  verifySealedGenesis,
} from '../../../src/chain/index.js';
import { verifyTranscript } from '../../../src/control-plane/domain/index.js';
import { Reconciler, RuntimeResolver } from '../../../src/control-plane/reconciler/index.js';
import { queries } from '../../../src/control-plane/store/index.js';
import { FakeRuntime, FakeWorld } from '../fake-runtime.js';
import { call, createConsortium, createOrg, startHarness, type Harness, type OrgFixture } from '../helpers.js';

describe('key ceremony', () => {
  let h: Harness;
  let a: OrgFixture;
  let b: OrgFixture;
  let cid: string;
  let world: FakeWorld;
  let rec: Reconciler;

  beforeAll(async () => {
    h = await startHarness();
    a = await createOrg(h, 'Alpha');
    b = await createOrg(h, 'Beta');
    cid = (await createConsortium(h, a, [a.id, b.id])).id;
    world = new FakeWorld();
    const runtimes = new RuntimeResolver({
      local: new FakeRuntime(world),
      loadCluster: (id) => queries(h.store).cluster(id),
    });
    rec = new Reconciler({ store: h.store, bus: h.ctx.bus, runtimes, now: () => h.clock.ms });
  });
  afterAll(async () => h.close());

  const approve = (org: OrgFixture, hashHex: string, asToken = org.adminToken, key = org.key) =>
    call(h, 'POST', `/v1/consortia/${cid}/ceremony/approvals`, asToken, {
      memberId: org.id,
      adminKey: toHex(key.publicKey),
      signature: toHex(signDomain('consortia/genesis-approval/v1', key.secretKey, fromHex(hashHex, 32))),
    });

  it('refuses to start before validator nodes are requested', async () => {
    const r = await call(h, 'POST', `/v1/consortia/${cid}/ceremony`, a.adminToken);
    expect(r.statusCode).toBe(409);
    expect(r.json().error.code).toBe('INVALID_STATE');
  });

  it('happy path: keys collected -> genesis -> approvals -> SEALED -> nodes run with the sealed genesis', async () => {
    for (const [org, role] of [
      [a, 'validator'],
      [a, 'validator'],
      [b, 'validator'],
      [b, 'super'],
    ] as const) {
      const r = await call(h, 'POST', `/v1/consortia/${cid}/nodes`, org.operatorToken, { orgId: org.id, role });
      expect(r.statusCode).toBe(202);
      expect(r.json().status.phase).toBe('Pending');
      expect(r.json().mode).toBe('keygen');
    }
    const started = await call(h, 'POST', `/v1/consortia/${cid}/ceremony`, a.adminToken);
    expect(started.statusCode).toBe(202);
    expect(started.json().status).toBe('COLLECTING_KEYS');
    expect(started.json().pendingNodes.length).toBe(4);

    await rec.pass();
    const cer = (await call(h, 'GET', `/v1/consortia/${cid}/ceremony`, b.viewerToken)).json();
    expect(cer.status).toBe('AWAITING_APPROVALS');
    expect(cer.pendingApprovals.sort()).toEqual([a.id, b.id].sort());
    const g = (await call(h, 'GET', `/v1/consortia/${cid}/ceremony/genesis`, b.viewerToken)).json();
    const sealed = sealedGenesisFromJSON(g.sealedGenesis);
    expect(toHex(genesisHash(sealed.genesis))).toBe(cer.genesisHash);
    expect(sealed.genesis.validators.length).toBe(3);
    expect(sealed.genesis.nodes.length).toBe(4);
    expect(sealed.genesis.members.map((m) => m.memberId).sort()).toEqual([a.id, b.id].sort());

    // bad approvals change nothing
    const wrongHash = await approve(b, '11'.repeat(32));
    expect(wrongHash.statusCode).toBe(400);
    expect(wrongHash.json().error.code).toBe('INVALID_SIGNATURE');
    const forOther = await approve(b, cer.genesisHash, a.adminToken);
    expect(forOther.statusCode).toBe(403);
    const wrongKey = await approve(b, cer.genesisHash, b.adminToken, a.key);
    expect(wrongKey.statusCode).toBe(400);
    const viewer = await approve(b, cer.genesisHash, b.viewerToken);
    expect(viewer.statusCode).toBe(403);
    expect((await call(h, 'GET', `/v1/consortia/${cid}/ceremony`, b.viewerToken)).json().approvals).toEqual([]);

    const first = await approve(a, cer.genesisHash);
    expect(first.statusCode).toBe(200);
    expect(first.json().status).toBe('AWAITING_APPROVALS');
    expect(first.json().pendingApprovals).toEqual([b.id]);
    expect((await approve(a, cer.genesisHash)).statusCode).toBe(409);
    const second = await approve(b, cer.genesisHash);
    expect(second.json().status).toBe('SEALED');

    const cons = (await call(h, 'GET', `/v1/consortia/${cid}`, a.viewerToken)).json();
    expect(cons.status).toBe('ACTIVE');
    await rec.pass();
    await rec.pass(); // second pass: peers' endpoints known, specs settle
    const nodes = (await call(h, 'GET', `/v1/consortia/${cid}/nodes`, a.viewerToken)).json().items;
    expect(
      nodes.every(
        (n: { mode: string; status: { phase: string; ready: boolean } }) =>
          n.mode === 'run' && n.status.phase === 'Running' && n.status.ready,
      ),
    ).toBe(true);
    for (const n of world.nodes.values()) {
      expect(n.spec.mode).toBe('run');
      const sg = sealedGenesisFromJSON(n.spec.genesis);
      expect(() => verifySealedGenesis(sg)).not.toThrow();
      expect(sg.approvals.length).toBe(2);
      expect(n.spec.peers.length).toBe(3);
    }
    // after sealing, a validator starts directly in run mode (it joins the set by an add_validator proposal);
    // any other node waits in keygen mode until its organization's signed registration is executed on chain
    const lateValidator = await call(h, 'POST', `/v1/consortia/${cid}/nodes`, b.operatorToken, {
      orgId: b.id,
      role: 'validator',
    });
    expect(lateValidator.json().mode).toBe('run');
    const late = await call(h, 'POST', `/v1/consortia/${cid}/nodes`, b.operatorToken, {
      orgId: b.id,
      role: 'ordinary',
      tier: { retentionBlocks: 100 },
    });
    expect(late.json()).toMatchObject({ mode: 'keygen', registration: { status: 'AWAITING_IDENTITY' } });
  });

  it('transcript is hash-chained, verifies, and detects tampering; no private key appears', async () => {
    const t = (await call(h, 'GET', `/v1/consortia/${cid}/ceremony/transcript`, b.viewerToken)).json();
    expect(t.entries.map((e: { type: string }) => e.type)).toEqual([
      'ceremony.started',
      'identity.reported',
      'identity.reported',
      'identity.reported',
      'identity.reported',
      'genesis.assembled',
      'approval.recorded',
      'approval.recorded',
      'genesis.sealed',
    ]);
    const ok = verifyTranscript(t.entries);
    expect(ok).toEqual({ ok: true, head: t.head, length: t.entries.length });
    const tampered = structuredClone(t.entries);
    tampered[2].data.publicKey = '00'.repeat(32);
    expect(verifyTranscript(tampered)).toMatchObject({ ok: false, index: 2 });
    const rehashed = structuredClone(t.entries);
    rehashed.splice(3, 1);
    expect(verifyTranscript(rehashed).ok).toBe(false);
    const text = JSON.stringify(t);
    for (const sk of [...world.secretKeysHex(), toHex(a.key.secretKey), toHex(b.key.secretKey)])
      expect(text).not.toContain(sk);
  });

  it('outsiders cannot see the ceremony', async () => {
    const e = await createOrg(h, 'Eve');
    expect((await call(h, 'GET', `/v1/consortia/${cid}/ceremony/transcript`, e.adminToken)).statusCode).toBe(404);
    expect((await call(h, 'GET', `/v1/consortia/${cid}/ceremony/genesis`, e.adminToken)).statusCode).toBe(404);
  });
});
