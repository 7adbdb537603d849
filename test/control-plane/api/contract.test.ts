/**
 * The control plane's strict HTTP contract (lib/http-contract.ts via api/error-handler.ts):
 * no coercion, unknown fields refused, every problem in one 400, strict query integers, 405 with
 * Allow, errors raised before routing (bad URL, 414, 431, malformed HTTP) in the error shape, and
 * every status in the OpenAPI document.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectShape, raw } from '../../lib/raw-http.js';
import { call, createOrg, startHarness, type Harness, type OrgFixture } from '../helpers.js';

const KEY = 'ab'.repeat(32);
const consortiumBody = (founders: string[]) => ({
  name: 'c',
  founders,
  params: { blockIntervalMs: 500, maxBlockBytes: 1048576 },
  votingPolicy: { thresholdPercentage: 50, thresholdComparator: 'GREATER_THAN', proposalDurationSeconds: 60 },
});

describe('control-plane strict contract', () => {
  let h: Harness;
  let a: OrgFixture;
  let orgCount = 0;
  beforeAll(async () => {
    h = await startHarness();
    a = await createOrg(h, 'Alpha');
  });
  afterAll(async () => h.close());

  const orgs = async () =>
    (await call(h, 'GET', '/v1/organizations?limit=1000', h.admin)).json().items.length as number;

  it.each([
    ['a boolean name', { name: false, adminPublicKeys: [KEY] }, 'name'],
    ['a number name', { name: 12, adminPublicKeys: [KEY] }, 'name'],
    ['a one-element array name', { name: ['x'], adminPublicKeys: [KEY] }, 'name'],
    ['a key list given as one string', { name: 'x', adminPublicKeys: KEY }, 'adminPublicKeys'],
  ])('refuses %s instead of coercing it', async (_what, body, field) => {
    orgCount = await orgs();
    const r = await call(h, 'POST', '/v1/organizations', h.admin, body);
    expect(r.statusCode).toBe(400);
    expectShape(r.json(), 'VALIDATION_FAILED');
    expect(r.json().error.details.field).toBe(field);
    expect(await orgs()).toBe(orgCount);
  });

  it('refuses a consortium whose integers are strings or whose threshold is a float', async () => {
    const body = consortiumBody([a.id]);
    const r = await call(h, 'POST', '/v1/consortia', a.adminToken, {
      ...body,
      params: { blockIntervalMs: '500', maxBlockBytes: 1048576 },
      votingPolicy: { ...body.votingPolicy, thresholdPercentage: 50.5 },
    });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.details.problems.map((p: { field: string }) => p.field)).toEqual([
      'params.blockIntervalMs',
      'votingPolicy.thresholdPercentage',
    ]);
  });

  it('refuses unknown fields, top-level and nested, naming each', async () => {
    orgCount = await orgs();
    const r = await call(h, 'POST', '/v1/organizations', h.admin, {
      name: 'x',
      adminPublicKeys: [KEY],
      admin: true,
      role: 'platform-admin',
    });
    expect(r.statusCode).toBe(400);
    expectShape(r.json(), 'VALIDATION_FAILED');
    expect(r.json().error.details.unknownFields).toEqual(['admin', 'role']);
    expect(r.json().error.message).toContain('admin');
    expect(await orgs()).toBe(orgCount);

    const nested = await call(h, 'POST', '/v1/consortia', a.adminToken, {
      ...consortiumBody([a.id]),
      params: { blockIntervalMs: 500, maxBlockBytes: 1048576, gasLimit: 1 },
    });
    expect(nested.statusCode).toBe(400);
    expect(nested.json().error.details.unknownFields).toEqual(['params.gasLimit']);

    // a variant of a union is closed too, and only that variant's problems are reported
    const action = await call(h, 'POST', '/v1/consortia/cons_x/proposals', a.adminToken, {
      action: { type: 'invite_member', orgId: a.id, weight: 2 },
    });
    expect(action.statusCode).toBe(400);
    expect(action.json().error.details.problems).toEqual([{ field: 'action.weight', message: 'is not a known field' }]);
  });

  it('answers every problem in one 400, capped at 20 with the count', async () => {
    const r = await call(h, 'POST', '/v1/organizations', h.admin, { name: '', adminPublicKeys: ['zz', 'yy'], x: 1 });
    expect(r.statusCode).toBe(400);
    const d = r.json().error.details;
    expect(d.count).toBe(4);
    expect(d.problems.map((p: { field: string }) => p.field).sort()).toEqual([
      'adminPublicKeys.0',
      'adminPublicKeys.1',
      'name',
      'x',
    ]);

    const many = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`extra${i}`, i]));
    const capped = await call(h, 'POST', '/v1/organizations', h.admin, { name: 'x', adminPublicKeys: [KEY], ...many });
    expect(capped.statusCode).toBe(400);
    expect(capped.json().error.details.count).toBe(30);
    expect(capped.json().error.details.problems).toHaveLength(20);
    expect(capped.json().error.details.truncated).toBe(true);
  });

  it('parses query integers strictly: only decimal digits within 2^53-1', async () => {
    for (const v of ['0x10', '1e1', '0b11', '01', '+1', ' 1', '1.0', '1.5', '-1', '9007199254740993', '']) {
      const r = await call(h, 'GET', `/v1/organizations?limit=${encodeURIComponent(v)}`, h.admin);
      expect(r.statusCode, `limit=${v}`).toBe(400);
      expectShape(r.json(), 'VALIDATION_FAILED');
      expect(r.json().error.details.field).toBe('querystring.limit');
    }
  });

  it('accepts strict integers, and refuses unknown and repeated query parameters', async () => {
    expect((await call(h, 'GET', '/v1/organizations?limit=1', h.admin)).json().items).toHaveLength(1);
    const unknown = await call(h, 'GET', '/v1/organizations?limit=1&offset=5', h.admin);
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.details.unknownFields).toEqual(['querystring.offset']);
    expect((await call(h, 'GET', `/v1/organizations/${a.id}?expand=all`, h.admin)).statusCode).toBe(400);
    expect((await call(h, 'GET', '/v1/organizations?limit=1&limit=2', h.admin)).statusCode).toBe(400);
  });

  it('answers 405 with Allow for a method the path does not declare', async () => {
    for (const [method, url, allow] of [
      ['DELETE', '/v1/organizations', 'GET, HEAD, POST'],
      ['PUT', `/v1/organizations/${a.id}`, 'GET, HEAD, PATCH'],
      ['OPTIONS', '/v1/consortia', 'GET, HEAD, POST'],
      ['PATCH', '/v1/consortia/cons_x/nodes/node_y', 'DELETE, GET, HEAD'],
    ] as const) {
      const r = await call(h, method, url, h.admin);
      expect(r.statusCode, `${method} ${url}`).toBe(405);
      expect(r.headers['allow']).toBe(allow);
      expectShape(r.json(), 'METHOD_NOT_ALLOWED');
    }
    const query = await call(h, 'QUERY', '/v1/organizations', h.admin);
    expect(query.statusCode).toBe(405);
    expect(query.headers['allow']).toBe('GET, HEAD, POST');
    const none = await call(h, 'GET', '/v1/nowhere', h.admin);
    expect(none.statusCode).toBe(404);
    expectShape(none.json(), 'NOT_FOUND');
  });

  it("shapes fastify's own refusals: bad URL 400, long path parameter 414, 413, 415", async () => {
    const bad = await call(h, 'GET', '/v1/organizations/%zz', h.admin);
    expect(bad.statusCode).toBe(400);
    expectShape(bad.json(), 'BAD_URL');
    const long = await call(h, 'GET', `/v1/organizations/${'o'.repeat(200)}`, h.admin);
    expect(long.statusCode).toBe(414);
    expectShape(long.json(), 'URI_TOO_LONG');
    const big = await call(h, 'POST', '/v1/organizations', h.admin, {
      name: 'x'.repeat(2 * 1024 * 1024),
      adminPublicKeys: [KEY],
    });
    expect(big.statusCode).toBe(413);
    expectShape(big.json(), 'PAYLOAD_TOO_LARGE');
    const media = await call(h, 'POST', '/v1/organizations', h.admin, 'name=x', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(media.statusCode).toBe(415);
    expectShape(media.json(), 'UNSUPPORTED_MEDIA_TYPE');
  });

  it("shapes what Node's HTTP parser refuses: 431, 414, unknown method 405, malformed 400", async () => {
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (h.app.server.address() as AddressInfo).port;
    const headers = await raw(
      port,
      `GET /v1/organizations HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(20_000)}\r\n\r\n`,
    );
    expect(headers.status).toBe(431);
    expectShape(headers.body, 'HEADERS_TOO_LARGE');
    const line = await raw(port, `GET /v1/organizations?cursor=${'c'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(line.status).toBe(414);
    expectShape(line.body, 'URI_TOO_LONG');
    const method = await raw(port, 'BREW /v1/organizations HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(method.status).toBe(405);
    expect(method.headers['allow']).toBe('GET, HEAD, POST');
    expectShape(method.body, 'METHOD_NOT_ALLOWED');
    const malformed = await raw(port, 'GET /v1/organizations HTTP/1.1\r\nHost: x\r\nNo Colon Here\r\n\r\n');
    expect(malformed.status).toBe(400);
    expectShape(malformed.body, 'BAD_REQUEST');
  });

  it('documents every status of every operation in OpenAPI, and closed request schemas', async () => {
    const doc = (await call(h, 'GET', '/openapi.json')).json();
    const ops = Object.entries(
      doc.paths as Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: any }>>,
    ).flatMap(([path, byMethod]) => Object.entries(byMethod).map(([method, op]) => ({ path, method, op })));
    expect(ops.length).toBeGreaterThan(25);
    for (const { path, method, op } of ops) {
      const codes = Object.keys(op.responses);
      expect(codes, `${method} ${path}`).toEqual(
        expect.arrayContaining(['400', '401', '403', '404', '405', '413', '414', '415', '429', '431', '500']),
      );
      expect(
        codes.some((c) => c.startsWith('2')),
        `${method} ${path}`,
      ).toBe(true);
      const schema = op.requestBody?.content?.['application/json']?.schema;
      if (schema?.type === 'object') expect(schema.additionalProperties, `${method} ${path}`).toBe(false);
    }
    expect(Object.keys(doc.paths['/v1/events'].get.responses)).toEqual(expect.arrayContaining(['200', '401']));
    expect(doc.paths['/v1/events'].get.responses['200'].content).toHaveProperty(['text/event-stream']);
  });
});
