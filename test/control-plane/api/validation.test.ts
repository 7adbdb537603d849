import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createOrg, startHarness, type Harness, type OrgFixture } from '../helpers.js';

describe('schemas, idempotency, optimistic versions', () => {
  let h: Harness;
  let a: OrgFixture;
  beforeAll(async () => {
    h = await startHarness();
    a = await createOrg(h, 'Alpha');
  });
  afterAll(async () => h.close());

  it.each([
    [{ adminPublicKeys: ['ab'.repeat(32)] }, 'name'],
    [{ name: 'x', adminPublicKeys: ['zz'] }, 'adminPublicKeys.0'],
    [{ name: 'x', adminPublicKeys: [] }, 'adminPublicKeys'],
    [{ name: '', adminPublicKeys: ['ab'.repeat(32)] }, 'name'],
  ])('400 VALIDATION_FAILED naming the field for %j', async (body, field) => {
    const before = (await call(h, 'GET', '/v1/organizations', h.admin)).json().items.length;
    const r = await call(h, 'POST', '/v1/organizations', h.admin, body);
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('VALIDATION_FAILED');
    expect(r.json().error.details.field).toBe(field);
    expect(r.json().error.message).toContain(field);
    expect((await call(h, 'GET', '/v1/organizations', h.admin)).json().items.length).toBe(before);
  });

  it('names nested fields of consortium and vote bodies', async () => {
    const r = await call(h, 'POST', '/v1/consortia', a.adminToken, {
      name: 'c',
      founders: [a.id],
      params: { blockIntervalMs: 500, maxBlockBytes: 1048576 },
      votingPolicy: { thresholdPercentage: 101, thresholdComparator: 'GREATER_THAN', proposalDurationSeconds: 60 },
    });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.details.field).toBe('votingPolicy.thresholdPercentage');
    const r2 = await call(h, 'POST', '/v1/consortia', a.adminToken, {
      name: 'c',
      founders: [a.id],
      params: { blockIntervalMs: 500, maxBlockBytes: 1048576 },
      votingPolicy: { thresholdPercentage: 50, thresholdComparator: 'MORE', proposalDurationSeconds: 60 },
    });
    expect(r2.statusCode).toBe(400);
    expect(r2.json().error.details.field).toBe('votingPolicy.thresholdComparator');
    const r3 = await call(h, 'POST', '/v1/consortia', a.adminToken, {
      name: 'c',
      founders: ['org_missing'],
      params: { blockIntervalMs: 500, maxBlockBytes: 1048576 },
      votingPolicy: { thresholdPercentage: 50, thresholdComparator: 'GREATER_THAN', proposalDurationSeconds: 60 },
    });
    expect(r3.statusCode).toBe(403); // not a founder itself
    const r4 = await call(h, 'POST', '/v1/consortia', h.admin, {
      name: 'c',
      founders: ['org_missing'],
      params: { blockIntervalMs: 500, maxBlockBytes: 1048576 },
      votingPolicy: { thresholdPercentage: 50, thresholdComparator: 'GREATER_THAN', proposalDurationSeconds: 60 },
    });
    expect(r4.statusCode).toBe(400);
    expect(r4.json().error.details.field).toBe('founders.0');
    expect((await call(h, 'GET', '/v1/consortia', h.admin)).json().items).toEqual([]);
  });

  it('bad JSON is a 400 in the error envelope', async () => {
    const r = await h.app.inject({
      method: 'POST',
      url: '/v1/organizations',
      headers: { authorization: `Bearer ${h.admin}`, 'content-type': 'application/json' },
      payload: '{bad',
    });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('VALIDATION_FAILED');
  });

  it('Idempotency-Key: same key and body -> same response; different body -> 422', async () => {
    const body = { name: 'Gamma', adminPublicKeys: ['cd'.repeat(32)] };
    const r1 = await call(h, 'POST', '/v1/organizations', h.admin, body, { 'idempotency-key': 'k-1' });
    const r2 = await call(h, 'POST', '/v1/organizations', h.admin, body, { 'idempotency-key': 'k-1' });
    expect(r1.statusCode).toBe(201);
    expect(r2.statusCode).toBe(201);
    expect(r2.json()).toEqual(r1.json());
    const r3 = await call(
      h,
      'POST',
      '/v1/organizations',
      h.admin,
      { ...body, name: 'Delta' },
      { 'idempotency-key': 'k-1' },
    );
    expect(r3.statusCode).toBe(422);
    expect(r3.json().error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const names = (await call(h, 'GET', '/v1/organizations', h.admin))
      .json()
      .items.map((o: { name: string }) => o.name);
    expect(names.filter((n: string) => n === 'Gamma').length).toBe(1);
    expect(names).not.toContain('Delta');
  });

  it('Idempotency-Key under concurrency creates once', async () => {
    const body = { name: 'Epsilon', adminPublicKeys: ['ef'.repeat(32)] };
    const rs = await Promise.all(
      [1, 2, 3, 4].map(() => call(h, 'POST', '/v1/organizations', h.admin, body, { 'idempotency-key': 'k-conc' })),
    );
    expect(new Set(rs.map((r) => r.json().id)).size).toBe(1);
    const names = (await call(h, 'GET', '/v1/organizations', h.admin))
      .json()
      .items.map((o: { name: string }) => o.name);
    expect(names.filter((n: string) => n === 'Epsilon').length).toBe(1);
  });

  it('token secrets are not replayed from the idempotency record', async () => {
    const r1 = await call(
      h,
      'POST',
      `/v1/organizations/${a.id}/tokens`,
      a.adminToken,
      { name: 'ci', role: 'org-viewer' },
      { 'idempotency-key': 'tk' },
    );
    const r2 = await call(
      h,
      'POST',
      `/v1/organizations/${a.id}/tokens`,
      a.adminToken,
      { name: 'ci', role: 'org-viewer' },
      { 'idempotency-key': 'tk' },
    );
    expect(r1.json().token).toMatch(/^csa_/);
    expect(r2.json().id).toBe(r1.json().id);
    expect(r2.json().token).toBeUndefined();
  });

  it('stale version -> 409 VERSION_CONFLICT and the newer write survives', async () => {
    const org = (await call(h, 'GET', `/v1/organizations/${a.id}`, a.adminToken)).json();
    const ok = await call(h, 'PATCH', `/v1/organizations/${a.id}`, a.adminToken, {
      version: org.version,
      name: 'Alpha2',
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().version).toBe(org.version + 1);
    const stale = await call(h, 'PATCH', `/v1/organizations/${a.id}`, a.adminToken, {
      version: org.version,
      name: 'Alpha3',
    });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().error.code).toBe('VERSION_CONFLICT');
    expect((await call(h, 'GET', `/v1/organizations/${a.id}`, a.adminToken)).json().name).toBe('Alpha2');
  });

  it('concurrent updates with the same version: exactly one wins, the rest get 409', async () => {
    const org = (await call(h, 'GET', `/v1/organizations/${a.id}`, a.adminToken)).json();
    const rs = await Promise.all(
      ['n1', 'n2', 'n3', 'n4', 'n5'].map((name) =>
        call(h, 'PATCH', `/v1/organizations/${a.id}`, a.adminToken, { version: org.version, name }),
      ),
    );
    const codes = rs.map((r) => r.statusCode).sort();
    expect(codes).toEqual([200, 409, 409, 409, 409]);
    const winner = rs.find((r) => r.statusCode === 200)!.json().name;
    expect((await call(h, 'GET', `/v1/organizations/${a.id}`, a.adminToken)).json().name).toBe(winner);
  });

  it('paginates lists with limit and cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 20; i++) {
      const url: string = `/v1/organizations?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await call(h, 'GET', url, h.admin)).json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((o: { id: string }) => o.id));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    const all = (await call(h, 'GET', '/v1/organizations?limit=1000', h.admin))
      .json()
      .items.map((o: { id: string }) => o.id);
    expect(seen).toEqual(all);
    expect(all.length).toBeGreaterThan(2);
  });

  it('serves OpenAPI 3 with the routes and docs', async () => {
    const r = await call(h, 'GET', '/openapi.json');
    expect(r.statusCode).toBe(200);
    const doc = r.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/organizations',
        '/v1/consortia/{cid}/proposals/{pid}/votes',
        '/v1/consortia/{cid}/ceremony',
      ]),
    );
    expect(doc.paths['/v1/organizations'].post.requestBody).toBeDefined();
    expect((await call(h, 'GET', '/docs')).statusCode).toBeLessThan(400);
    expect((await call(h, 'GET', '/healthz')).statusCode).toBe(200);
    const m = await call(h, 'GET', '/metrics');
    expect(m.body).toContain('consortia_api_requests_total');
  });

  it('cluster registration encrypts the kubeconfig or refuses without a key', async () => {
    const r = await call(h, 'POST', '/v1/clusters', h.admin, {
      name: 'k',
      kind: 'kubernetes',
      kubeconfig: 'apiVersion: v1',
    });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('ENCRYPTION_NOT_CONFIGURED');
  });
});
