import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createConsortium, createOrg, startHarness, type Harness, type OrgFixture } from '../helpers.js';

describe('authentication and authorization', () => {
  let h: Harness;
  let a: OrgFixture;
  let b: OrgFixture;
  let cid: string;

  beforeAll(async () => {
    h = await startHarness();
    a = await createOrg(h, 'Alpha');
    b = await createOrg(h, 'Beta');
    cid = (await createConsortium(h, a, [a.id])).id;
  });
  afterAll(async () => h.close());

  it('rejects missing and unknown tokens with 401', async () => {
    expect((await call(h, 'GET', '/v1/organizations')).statusCode).toBe(401);
    const r = await call(h, 'GET', '/v1/organizations', 'csa_nope');
    expect(r.statusCode).toBe(401);
    expect(r.json().error.code).toBe('UNAUTHENTICATED');
  });

  it('only platform-admin creates organizations (403, nothing created)', async () => {
    const before = (await call(h, 'GET', '/v1/organizations', h.admin)).json().items.length;
    const r = await call(h, 'POST', '/v1/organizations', a.adminToken, {
      name: 'Evil',
      adminPublicKeys: ['00'.repeat(32)],
    });
    expect(r.statusCode).toBe(403);
    expect(r.json().error.code).toBe('FORBIDDEN');
    expect((await call(h, 'GET', '/v1/organizations', h.admin)).json().items.length).toBe(before);
  });

  it("hides another org's organization and tokens (404) and never lists them", async () => {
    expect((await call(h, 'GET', `/v1/organizations/${a.id}`, b.adminToken)).statusCode).toBe(404);
    expect((await call(h, 'GET', `/v1/organizations/${a.id}/tokens`, b.adminToken)).statusCode).toBe(404);
    const list = (await call(h, 'GET', '/v1/organizations', b.viewerToken)).json();
    expect(list.items.map((o: { id: string }) => o.id)).toEqual([b.id]);
    const tokens = (await call(h, 'GET', `/v1/organizations/${a.id}/tokens`, a.adminToken)).json();
    expect(tokens.items.length).toBe(3);
    expect(JSON.stringify(tokens)).not.toMatch(/tokenHash|csa_/);
  });

  it('cannot mint or revoke tokens for another org (404, nothing changes)', async () => {
    const r = await call(h, 'POST', `/v1/organizations/${a.id}/tokens`, b.adminToken, { name: 'x', role: 'org-admin' });
    expect(r.statusCode).toBe(404);
    const ids = (await call(h, 'GET', `/v1/organizations/${a.id}/tokens`, a.adminToken))
      .json()
      .items.map((t: { id: string }) => t.id);
    expect(ids.length).toBe(3);
    expect((await call(h, 'DELETE', `/v1/organizations/${a.id}/tokens/${ids[0]}`, b.adminToken)).statusCode).toBe(404);
    expect((await call(h, 'GET', `/v1/organizations/${a.id}/tokens`, a.adminToken)).json().items.length).toBe(3);
  });

  it('role checks inside the own org: viewer/operator cannot mint tokens (403)', async () => {
    expect(
      (await call(h, 'POST', `/v1/organizations/${a.id}/tokens`, a.viewerToken, { name: 'x', role: 'org-admin' }))
        .statusCode,
    ).toBe(403);
    expect(
      (await call(h, 'POST', `/v1/organizations/${a.id}/tokens`, a.operatorToken, { name: 'x', role: 'org-admin' }))
        .statusCode,
    ).toBe(403);
    expect((await call(h, 'GET', `/v1/organizations/${a.id}/tokens`, a.viewerToken)).statusCode).toBe(403);
  });

  it('a revoked token stops working', async () => {
    const t = await call(h, 'POST', `/v1/organizations/${b.id}/tokens`, b.adminToken, {
      name: 'tmp',
      role: 'org-viewer',
    });
    const { id, token } = t.json();
    expect((await call(h, 'GET', `/v1/organizations/${b.id}`, token)).statusCode).toBe(200);
    expect((await call(h, 'DELETE', `/v1/organizations/${b.id}/tokens/${id}`, b.adminToken)).statusCode).toBe(204);
    expect((await call(h, 'GET', `/v1/organizations/${b.id}`, token)).statusCode).toBe(401);
  });

  it("another org's consortium is 404 for reads and writes, and nothing changes", async () => {
    expect((await call(h, 'GET', `/v1/consortia/${cid}`, b.adminToken)).statusCode).toBe(404);
    expect((await call(h, 'GET', `/v1/consortia/${cid}/members`, b.adminToken)).statusCode).toBe(404);
    const p = await call(h, 'POST', `/v1/consortia/${cid}/proposals`, b.adminToken, {
      action: { type: 'invite_member', orgId: b.id },
    });
    expect(p.statusCode).toBe(404);
    const n = await call(h, 'POST', `/v1/consortia/${cid}/nodes`, b.adminToken, { orgId: b.id, role: 'validator' });
    expect(n.statusCode).toBe(404);
    expect((await call(h, 'POST', `/v1/consortia/${cid}/ceremony`, b.adminToken)).statusCode).toBe(404);
    expect((await call(h, 'GET', `/v1/consortia`, b.adminToken)).json().items).toEqual([]);
    expect((await call(h, 'GET', `/v1/consortia/${cid}/proposals`, a.viewerToken)).json().items).toEqual([]);
    expect((await call(h, 'GET', `/v1/consortia/${cid}/nodes`, a.viewerToken)).json().items).toEqual([]);
  });

  it('cannot create a consortium it does not found, nor act for another org inside one (403)', async () => {
    const r = await call(h, 'POST', '/v1/consortia', b.adminToken, {
      name: 'x',
      founders: [a.id],
      params: { blockIntervalMs: 500, maxBlockBytes: 1048576 },
      votingPolicy: { thresholdPercentage: 50, thresholdComparator: 'GREATER_THAN', proposalDurationSeconds: 60 },
    });
    expect(r.statusCode).toBe(403);
    const shared = await createConsortium(h, a, [a.id, b.id]);
    const n = await call(h, 'POST', `/v1/consortia/${shared.id}/nodes`, b.adminToken, {
      orgId: a.id,
      role: 'validator',
    });
    expect(n.statusCode).toBe(403);
    const viewerNode = await call(h, 'POST', `/v1/consortia/${shared.id}/nodes`, b.viewerToken, {
      orgId: b.id,
      role: 'validator',
    });
    expect(viewerNode.statusCode).toBe(403);
    const viewerProp = await call(h, 'POST', `/v1/consortia/${shared.id}/proposals`, b.operatorToken, {
      action: { type: 'change_params', params: { blockIntervalMs: 900 } },
    });
    expect(viewerProp.statusCode).toBe(403);
    expect((await call(h, 'GET', `/v1/consortia/${shared.id}/nodes`, b.viewerToken)).json().items).toEqual([]);
    expect((await call(h, 'GET', `/v1/consortia/${shared.id}/proposals`, b.viewerToken)).json().items).toEqual([]);
    // a's node cannot be deleted by b
    const an = await call(h, 'POST', `/v1/consortia/${shared.id}/nodes`, a.operatorToken, {
      orgId: a.id,
      role: 'validator',
    });
    expect(an.statusCode).toBe(202);
    const del = await call(h, 'DELETE', `/v1/consortia/${shared.id}/nodes/${an.json().id}`, b.adminToken);
    expect(del.statusCode).toBe(403);
    expect(
      (await call(h, 'GET', `/v1/consortia/${shared.id}/nodes/${an.json().id}`, a.viewerToken)).json().desired,
    ).toBe('present');
  });

  it('only platform-admin registers clusters; local exists by default', async () => {
    const r = await call(h, 'POST', '/v1/clusters', a.adminToken, { name: 'k', kind: 'kubernetes', inCluster: true });
    expect(r.statusCode).toBe(403);
    const list = (await call(h, 'GET', '/v1/clusters', a.viewerToken)).json();
    expect(list.items.map((c: { id: string }) => c.id)).toEqual(['local']);
  });

  it('audit events are filtered to the caller org', async () => {
    const mine = (await call(h, 'GET', '/v1/audit-events?limit=1000', b.viewerToken)).json().items;
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((e: { orgIds: string[] }) => e.orgIds.includes(b.id))).toBe(true);
    const all = (await call(h, 'GET', '/v1/audit-events?limit=1000', h.admin)).json().items;
    expect(all.length).toBeGreaterThan(mine.length);
  });
});
