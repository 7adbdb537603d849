import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { registerClusterValidator } from '../../../src/control-plane/domain/index.js';
import { openSecret } from '../../../src/control-plane/domain/secret-box.js';
import { CONTROL_PLANE_METRIC_NAMES, createControlPlaneMetrics } from '../../../src/control-plane/metrics.js';
import { queries } from '../../../src/control-plane/store/index.js';
import { call, createOrg, startHarness, type Harness } from '../helpers.js';

function readEvents(
  url: string,
  token: string,
  want: number,
  timeoutMs = 5000,
): Promise<{ type: string; resource: string }[]> {
  return new Promise((resolve, reject) => {
    const got: { type: string; resource: string }[] = [];
    const req = request(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      let buf = '';
      res.on('data', (chunk: Buffer) => {
        buf += chunk.toString();
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data) got.push(JSON.parse(data.slice(6)));
          if (got.length >= want) {
            req.destroy();
            resolve(got);
          }
        }
      });
    });
    req.on('error', (e) => (got.length >= want ? undefined : reject(e)));
    req.end();
    setTimeout(() => {
      req.destroy();
      resolve(got);
    }, timeoutMs);
  });
}

describe('events, clusters, metrics', () => {
  let h: Harness;
  const key = randomBytes(32);
  let base: string;
  beforeAll(async () => {
    h = await startHarness({ encryptionKey: key });
    base = await h.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => h.close());

  it('streams committed changes over SSE, filtered to the caller org', async () => {
    const a = await createOrg(h, 'A');
    const b = await createOrg(h, 'B');
    const adminStream = readEvents(`${base}/v1/events`, h.admin, 2);
    const bStream = readEvents(`${base}/v1/events`, b.viewerToken, 1, 1500);
    await new Promise((r) => setTimeout(r, 100));
    await call(h, 'PATCH', `/v1/organizations/${a.id}`, a.adminToken, { version: 1, name: 'A2' });
    await call(h, 'PATCH', `/v1/organizations/${a.id}`, a.adminToken, { version: 2, name: 'A3' });
    const evs = await adminStream;
    expect(evs.map((e) => e.type)).toEqual(['organization.updated', 'organization.updated']);
    expect(evs[0]!.resource).toBe(`organizations/${a.id}`);
    expect(await bStream).toEqual([]);
    expect((await call(h, 'GET', '/v1/events')).statusCode).toBe(401);
  });

  it('registers a kubernetes cluster through the registered validator; the kubeconfig is encrypted at rest', async () => {
    registerClusterValidator('kubernetes', async (input) => {
      if (input.kubeconfig?.includes('unreachable')) throw new Error('connect ECONNREFUSED');
      return { serverVersion: 'v1.31.0' };
    });
    const bad = await call(h, 'POST', '/v1/clusters', h.admin, {
      name: 'k0',
      kind: 'kubernetes',
      kubeconfig: 'server: unreachable',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('CLUSTER_UNREACHABLE');
    const r = await call(h, 'POST', '/v1/clusters', h.admin, {
      name: 'k1',
      kind: 'kubernetes',
      kubeconfig: 'apiVersion: v1 # secret-token-xyz',
    });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toMatchObject({ status: 'Ready', serverVersion: 'v1.31.0', hasKubeconfig: true });
    expect(r.body).not.toContain('secret-token-xyz');
    const stored = await queries(h.store).cluster(r.json().id);
    expect(JSON.stringify(stored)).not.toContain('secret-token-xyz');
    expect(openSecret(key, stored!.kubeconfigSealed!, `cluster/${stored!.id}`)).toContain('secret-token-xyz');
    const names = (await call(h, 'GET', '/v1/clusters', h.admin)).json().items.map((c: { name: string }) => c.name);
    expect(names).toEqual(expect.arrayContaining(['local', 'k1']));
    expect(names).not.toContain('k0');
    // Per-cluster runtime settings: schema-checked (400 naming the field), stored, and returned.
    const badOpts = await call(h, 'POST', '/v1/clusters', h.admin, {
      name: 'k2',
      kind: 'kubernetes',
      kubeconfig: 'x',
      runtimeOptions: { nodeAccess: 'sideways' },
    });
    expect(badOpts.statusCode).toBe(400);
    expect(badOpts.body).toContain('nodeAccess');
    const withOpts = await call(h, 'POST', '/v1/clusters', h.admin, {
      name: 'k3',
      kind: 'kubernetes',
      kubeconfig: 'x',
      runtimeOptions: { p2pAdvertiseTemplate: '{node}.p2p.eu.example.com:443' },
    });
    expect(withOpts.statusCode).toBe(201);
    expect((await call(h, 'GET', `/v1/clusters/${withOpts.json().id}`, h.admin)).json().runtimeOptions).toEqual({
      p2pAdvertiseTemplate: '{node}.p2p.eu.example.com:443',
    });
  });

  it('exports every control-plane metric name', async () => {
    const reg = new Registry();
    createControlPlaneMetrics(reg);
    const names = (await reg.getMetricsAsJSON()).map((m) => m.name).sort();
    expect(names).toEqual([...CONTROL_PLANE_METRIC_NAMES].sort());
  });
});
