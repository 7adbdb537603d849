import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBootstrap } from '../../src/control-plane/api/bootstrap.js';
import { loadControlPlaneConfig, RATE_LIMIT_DEFAULTS } from '../../src/control-plane/config.js';
import { buildServer } from '../../src/control-plane/server.js';
import { LevelStore } from '../../src/control-plane/store/index.js';

/** Per-client rate limit of the control-plane API: 429 RATE_LIMITED in the API's error shape; probes unlimited. */
describe('control-plane API rate limit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cp-ratelimit-'));
  const store = new LevelStore(join(dir, 'store'));
  let app: FastifyInstance;
  let admin: string;

  beforeAll(async () => {
    await store.open();
    admin = (await ensureBootstrap(store, { now: Date.now })).generatedToken!;
    ({ app } = await buildServer({ store, rateLimit: { max: 4, windowMs: 60_000 } }));
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (url: string, token?: string, ip = '127.0.0.1') =>
    app.inject({ method: 'GET', url, remoteAddress: ip, headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('answers 429 RATE_LIMITED with Retry-After past the limit, before authentication, per client', async () => {
    for (let i = 0; i < 4; i++) expect((await get('/v1/organizations', admin)).statusCode).toBe(200);
    const over = await get('/v1/organizations', admin);
    expect(over.statusCode).toBe(429);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(over.json()).toEqual({
      error: {
        code: 'RATE_LIMITED',
        message: expect.stringContaining('4 requests'),
        details: { limit: 4, windowMs: 60_000, retryAfterSeconds: expect.any(Number) },
      },
    });
    // limited before the token is looked up: no token is 429, not 401
    expect((await get('/v1/organizations')).statusCode).toBe(429);
    // another client has its own budget
    expect((await get('/v1/organizations', admin, '10.0.0.9')).statusCode).toBe(200);
  });

  it('never limits /healthz, /readyz and /metrics, which export the event-loop lag', async () => {
    for (let i = 0; i < 10; i++) {
      for (const url of ['/healthz', '/readyz', '/metrics']) expect((await get(url)).statusCode).toBe(200);
    }
    const m = await get('/metrics');
    expect(m.body).toMatch(/consortia_process_event_loop_lag_seconds\{stat="max"\} [0-9.e-]+/);
    expect(m.body).toContain('consortia_api_requests_total{route="/v1/organizations",method="GET",status="429"}');
  });

  it('is configured by rateLimitMax / rateLimitWindowMs (CONSORTIA_RATE_LIMIT_*), 0 disabling it', async () => {
    expect(loadControlPlaneConfig([], {})).toMatchObject({
      rateLimitMax: RATE_LIMIT_DEFAULTS.max,
      rateLimitWindowMs: RATE_LIMIT_DEFAULTS.windowMs,
    });
    expect(
      loadControlPlaneConfig([], { CONSORTIA_RATE_LIMIT_MAX: '50', CONSORTIA_RATE_LIMIT_WINDOW_MS: '2000' }),
    ).toMatchObject({ rateLimitMax: 50, rateLimitWindowMs: 2000 });
    const off = await buildServer({ store, rateLimit: { max: 0, windowMs: 1000 } });
    try {
      for (let i = 0; i < 20; i++)
        expect(
          (
            await off.app.inject({
              method: 'GET',
              url: '/v1/organizations',
              headers: { authorization: `Bearer ${admin}` },
            })
          ).statusCode,
        ).toBe(200);
    } finally {
      await off.app.close();
    }
  });
});
