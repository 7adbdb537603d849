/**
 * The node API's strict HTTP contract (lib/http-contract.ts via rpc/contract.ts): strict path and
 * query integers, unknown fields refused, every problem in one 400, 405 with Allow, every error in
 * { error: { code, message, details } } (also what Node's parser and fastify's router refuse),
 * and an OpenAPI document naming every status.
 */
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectShape, raw } from '../../lib/raw-http.js';
import { createNodeApi, type NodeApp } from '../../../src/node/rpc/index.js';
import { FakeBackend, makeSealedGenesis } from './fake-backend.js';

const LIMITS = { maxTxBytes: 2048, bodyLimitBytes: 64 * 1024, maxWaitMs: 2000, sseKeepAliveMs: 60_000 };

describe('node API strict contract', () => {
  const { sealed } = makeSealedGenesis();
  const backend = new FakeBackend('test-chain', sealed);
  let app: NodeApp;
  beforeAll(async () => {
    app = await createNodeApi({ backend, registry: new Registry(), limits: LIMITS });
  });
  afterAll(async () => app.close());

  it.each(['1.5', '0x10', '1e1', '0b11', '01', '+1', '-1', ' 1', '1 ', '9007199254740993', '1_0'])(
    'refuses the block height %j instead of serving another block',
    async (h) => {
      for (const suffix of ['', '/header', '/commit']) {
        const r = await app.inject({ method: 'GET', url: `/v1/blocks/${encodeURIComponent(h)}${suffix}` });
        expect(r.statusCode, `${h}${suffix}`).toBe(400);
        expectShape(r.json(), 'INVALID_REQUEST');
        expect(r.json().error.details.field).toBe('params.height');
      }
    },
  );

  it('refuses non-decimal query integers and unknown query parameters', async () => {
    for (const url of [
      '/v1/headers?from=0x1',
      '/v1/headers?from=1&count=1e1',
      '/v1/accounts/' + 'ab'.repeat(32) + '?height=1.0',
      `/v1/accounts/${'ab'.repeat(32)}/txs?limit=0b11`,
    ]) {
      const r = await app.inject({ method: 'GET', url });
      expect(r.statusCode, url).toBe(400);
      expectShape(r.json(), 'INVALID_REQUEST');
    }
    const unknown = await app.inject({ method: 'GET', url: '/v1/status?verbose=1' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.details.unknownFields).toEqual(['querystring.verbose']);
    expect((await app.inject({ method: 'GET', url: '/v1/status' })).statusCode).toBe(200);
  });

  it('refuses unknown body fields and reports every problem of path, query and body in one 400', async () => {
    const extra = await app.inject({ method: 'POST', url: '/v1/txs', payload: { tx: 'abcd', fee: 1 } });
    expect(extra.statusCode).toBe(400);
    expect(extra.json().error.details.unknownFields).toEqual(['fee']);
    const batch = await app.inject({ method: 'POST', url: '/v1/txs/batch', payload: { txs: [], priority: 'high' } });
    expect(batch.statusCode).toBe(400);
    expect(batch.json().error.details.unknownFields).toEqual(['priority']);
    const all = await app.inject({
      method: 'POST',
      url: '/v1/txs?wait=maybe&timeoutMs=1e3',
      payload: { tx: 5, fee: 1 },
    });
    expect(all.statusCode).toBe(400);
    const fields = all
      .json()
      .error.details.problems.map((p: { field: string }) => p.field)
      .sort();
    expect(fields).toEqual(['fee', 'querystring.timeoutMs', 'querystring.wait', 'tx']);
    expect(all.json().error.details.count).toBe(4);
  });

  it('answers 405 with Allow, and 404 with details, in the error shape', async () => {
    const r = await app.inject({ method: 'DELETE', url: '/v1/blocks/3' });
    expect(r.statusCode).toBe(405);
    expect(r.headers['allow']).toBe('GET, HEAD');
    expectShape(r.json(), 'METHOD_NOT_ALLOWED');
    const put = await app.inject({ method: 'PUT', url: '/v1/txs' });
    expect(put.statusCode).toBe(405);
    expect(put.headers['allow']).toBe('POST');
    // where patterns overlap, the literal path names the methods (/v1/txs/batch, not /v1/txs/:hash)
    const batch = await app.inject({ method: 'OPTIONS', url: '/v1/txs/batch' });
    expect(batch.statusCode).toBe(405);
    expect(batch.headers['allow']).toBe('POST');
    const getBatch = await app.inject({ method: 'GET', url: '/v1/txs/batch' });
    expect(getBatch.statusCode).toBe(405);
    expect(getBatch.headers['allow']).toBe('POST');
    expectShape(getBatch.json(), 'METHOD_NOT_ALLOWED');
    // a body method fastify refuses before routing (QUERY without Content-Type) is still 405
    const query = await app.inject({ method: 'QUERY' as 'GET', url: '/v1/status' });
    expect(query.statusCode).toBe(405);
    expect(query.headers['allow']).toBe('GET, HEAD');
    const missing = await app.inject({ method: 'GET', url: '/v1/blocks/424242' });
    expect(missing.statusCode).toBe(404);
    expectShape(missing.json(), 'NOT_FOUND');
    const none = await app.inject({ method: 'GET', url: '/v1/nowhere' });
    expectShape(none.json(), 'NOT_FOUND');
  });

  it("shapes what fastify and Node's parser refuse: bad URL, 414, 431, unknown method", async () => {
    const bad = await app.inject({ method: 'GET', url: '/v1/txs/%zz' });
    expect(bad.statusCode).toBe(400);
    expectShape(bad.json(), 'BAD_URL');
    const long = await app.inject({ method: 'GET', url: `/v1/assets/${'a'.repeat(2000)}` });
    expect(long.statusCode).toBe(414);
    expectShape(long.json(), 'URI_TOO_LONG');
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    const headers = await raw(port, `GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(20_000)}\r\n\r\n`);
    expect(headers.status).toBe(431);
    expectShape(headers.body, 'HEADERS_TOO_LARGE');
    const line = await raw(port, `GET /v1/status?x=${'c'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(line.status).toBe(414);
    expectShape(line.body, 'URI_TOO_LONG');
    const method = await raw(port, 'BREW /v1/status HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(method.status).toBe(405);
    expect(method.headers['allow']).toBe('GET, HEAD');
  });

  it('serves an OpenAPI document naming every status of every route', async () => {
    const r = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(r.statusCode).toBe(200);
    const doc = r.json();
    expect(doc.openapi).toMatch(/^3\./);
    for (const p of [
      '/v1/status',
      '/v1/txs',
      '/v1/blocks/{height}',
      '/v1/accounts/{publicKey}/txs',
      '/v1/events',
      '/v1/genesis',
    ])
      expect(doc.paths).toHaveProperty([p]);
    for (const [path, byMethod] of Object.entries(
      doc.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>,
    )) {
      for (const [method, op] of Object.entries(byMethod)) {
        const codes = Object.keys(op.responses);
        expect(codes, `${method} ${path}`).toEqual(
          expect.arrayContaining(['400', '404', '405', '414', '429', '431', '500', '503']),
        );
        expect(
          codes.some((c) => c.startsWith('2')),
          `${method} ${path}`,
        ).toBe(true);
      }
    }
    expect(Object.keys(doc.paths['/v1/txs'].post.responses)).toEqual(
      expect.arrayContaining(['200', '202', '413', '415', '422']),
    );
    expect(Object.keys(doc.paths['/v1/genesis'].put.responses)).toEqual(expect.arrayContaining(['401', '409', '413']));
    expect(doc.paths['/v1/blocks/{height}'].get.parameters[0].schema).toMatchObject({ type: 'integer', minimum: 1 });
    expect(doc.paths['/v1/txs'].post.requestBody.content['application/json'].schema.additionalProperties).toBe(false);
  });
});
