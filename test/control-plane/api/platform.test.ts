import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBootstrap } from '../../../src/control-plane/api/bootstrap.js';
import { buildServer } from '../../../src/control-plane/server.js';
import { LevelStore } from '../../../src/control-plane/store/index.js';
import { createCa } from '../../../src/lib/tls-ca.js';
import { call, createOrg, startHarness, type Harness } from '../helpers.js';

describe('GET /v1/platform/node-ca', () => {
  let dir = '';
  let store: LevelStore;
  let app: Awaited<ReturnType<typeof buildServer>>['app'];
  let admin = '';
  let ca: Awaited<ReturnType<typeof createCa>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cp-node-ca-'));
    store = new LevelStore(join(dir, 'store'));
    await store.open();
    admin = (await ensureBootstrap(store, { now: Date.now })).generatedToken!;
    ca = await createCa('test-node-ca');
    ({ app } = await buildServer({
      store,
      platform: { nodeCa: { certificate: ca.cert, fingerprint: ca.fingerprint } },
    }));
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives any authenticated caller the node CA certificate and its fingerprint; nobody else', async () => {
    const ok = await app.inject({
      method: 'GET',
      url: '/v1/platform/node-ca',
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ caCertificate: ca.cert, fingerprint: ca.fingerprint });
    const anonymous = await app.inject({ method: 'GET', url: '/v1/platform/node-ca' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().error.code).toBe('UNAUTHENTICATED');
  });

  describe('a control plane without a node CA', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness();
    });
    afterAll(async () => h?.close());

    it('answers 404 NOT_FOUND, also to an organization viewer', async () => {
      const org = await createOrg(h, 'acme');
      const r = await call(h, 'GET', '/v1/platform/node-ca', org.viewerToken);
      expect(r.statusCode).toBe(404);
      expect(r.json().error.code).toBe('NOT_FOUND');
    });
  });
});
