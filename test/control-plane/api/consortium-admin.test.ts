import { afterEach, describe, expect, it } from 'vitest';
import { ChangeBus } from '../../../src/control-plane/domain/events.js';
import { Reconciler, RuntimeResolver } from '../../../src/control-plane/reconciler/index.js';
import { queries } from '../../../src/control-plane/store/index.js';
import { FakeRuntime, FakeWorld } from '../fake-runtime.js';
import { call, createConsortium, createOrg, startHarness, type Harness } from '../helpers.js';

/** Records the per-consortium cleanup the reconciler asks for once every node is gone. */
class CleaningRuntime extends FakeRuntime {
  readonly cleaned: string[] = [];
  async deleteConsortium(cid: string): Promise<void> {
    if ([...this.world.nodes.values()].some((n) => n.spec.consortiumId === cid)) throw new Error('nodes still present');
    this.cleaned.push(cid);
  }
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('DELETE /v1/consortia/:cid', () => {
  it('is platform-admin only; deletes every node, then the runtime cleanup, and ends DELETED', async () => {
    h = await startHarness();
    const a = await createOrg(h, 'acme');
    const { id: cid } = await createConsortium(h, a, [a.id]);
    for (let i = 0; i < 2; i++) {
      const r = await call(h, 'POST', `/v1/consortia/${cid}/nodes`, a.operatorToken, {
        orgId: a.id,
        role: 'validator',
      });
      expect(r.statusCode).toBe(202);
    }
    const world = new FakeWorld();
    const runtime = new CleaningRuntime(world);
    const rec = new Reconciler({
      store: h.store,
      bus: new ChangeBus(),
      runtimes: new RuntimeResolver({ local: runtime, loadCluster: (id) => queries(h!.store).cluster(id) }),
    });
    await rec.pass();
    expect(world.nodes.size).toBe(2);

    // An org-admin of a member cannot delete the consortium: 403 and nothing changes.
    const denied = await call(h, 'DELETE', `/v1/consortia/${cid}`, a.adminToken);
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.code).toBe('FORBIDDEN');
    expect((await call(h, 'GET', `/v1/consortia/${cid}`, a.adminToken)).json().status).toBe('FORMING');
    expect((await queries(h.store).consortiumNodes(cid)).every((n) => n.desired === 'present')).toBe(true);

    expect((await call(h, 'DELETE', '/v1/consortia/cons_nope', h.admin)).statusCode).toBe(404);
    const del = await call(h, 'DELETE', `/v1/consortia/${cid}`, h.admin);
    expect(del.statusCode).toBe(202);
    expect(del.json().status).toBe('DELETING');
    // No new node in a consortium being deleted.
    const late = await call(h, 'POST', `/v1/consortia/${cid}/nodes`, a.operatorToken, {
      orgId: a.id,
      role: 'validator',
    });
    expect(late.statusCode).toBe(409);
    expect(late.json().error.code).toBe('INVALID_STATE');
    // Repeating the DELETE is harmless.
    expect((await call(h, 'DELETE', `/v1/consortia/${cid}`, h.admin)).statusCode).toBe(202);

    await rec.pass();
    expect(world.nodes.size).toBe(0);
    expect(runtime.cleaned).toEqual([cid]);
    const after = (await call(h, 'GET', `/v1/consortia/${cid}`, h.admin)).json();
    expect(after.status).toBe('DELETED');
    const nodes = (await call(h, 'GET', `/v1/consortia/${cid}/nodes`, h.admin)).json().items as {
      status: { phase: string };
    }[];
    expect(nodes.map((n) => n.status.phase)).toEqual(['Deleted', 'Deleted']);
    await rec.pass();
    expect(runtime.cleaned).toEqual([cid]); // finalized once
  });
});

describe('PATCH /v1/consortia/:cid (node image)', () => {
  it('sets the image for platform-admin only; a bad reference is a 400 naming the field and changes nothing', async () => {
    h = await startHarness();
    const a = await createOrg(h, 'acme');
    const { id: cid } = await createConsortium(h, a, [a.id]);
    const denied = await call(h, 'PATCH', `/v1/consortia/${cid}`, a.adminToken, {
      nodeImage: 'registry.example/node:2',
    });
    expect(denied.statusCode).toBe(403);
    for (const body of [{ nodeImage: 'Bad Image!' }, { nodeImage: '' }, { nodeImage: 'UPPER/case:1' }, {}]) {
      const bad = await call(h, 'PATCH', `/v1/consortia/${cid}`, h.admin, body);
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.code).toBe('VALIDATION_FAILED');
    }
    expect((await call(h, 'PATCH', `/v1/consortia/${cid}`, h.admin, { nodeImage: 'Bad Image!' })).body).toContain(
      'nodeImage',
    );
    expect((await call(h, 'GET', `/v1/consortia/${cid}`, h.admin)).json().nodeImage).toBeUndefined();
    expect((await call(h, 'PATCH', '/v1/consortia/cons_nope', h.admin, { nodeImage: 'x:1' })).statusCode).toBe(404);
    const ok = await call(h, 'PATCH', `/v1/consortia/${cid}`, h.admin, {
      nodeImage: 'registry.example/consortia-node:2.1.0',
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().nodeImage).toBe('registry.example/consortia-node:2.1.0');
    expect((await call(h, 'GET', `/v1/consortia/${cid}`, a.viewerToken)).json().nodeImage).toBe(
      'registry.example/consortia-node:2.1.0',
    );
  });

  it('is refused for a consortium whose nodes all run as local processes, naming why, and changes nothing', async () => {
    h = await startHarness();
    const a = await createOrg(h, 'acme');
    const { id: cid } = await createConsortium(h, a, [a.id]);
    const n = await call(h, 'POST', `/v1/consortia/${cid}/nodes`, a.adminToken, {
      orgId: a.id,
      role: 'validator',
      clusterId: 'local',
    });
    expect(n.statusCode, n.body).toBe(202);
    const refused = await call(h, 'PATCH', `/v1/consortia/${cid}`, h.admin, {
      nodeImage: 'registry.example/consortia-node:2.1.0',
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toMatchObject({
      code: 'INVALID_STATE',
      details: { field: 'nodeImage', placement: 'local' },
    });
    expect(refused.json().error.message).toContain('local processes');
    expect((await call(h, 'GET', `/v1/consortia/${cid}`, h.admin)).json().nodeImage).toBeUndefined();
  });
});
