import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AUTH_AUDIT_KEYS_PER_WINDOW_MAX,
  AUTH_AUDIT_WINDOW_MS,
  AuthFailureAudit,
  type AuthFailure,
} from '../../../src/control-plane/api/auth-failures.js';
import { hashToken } from '../../../src/control-plane/domain/tokens.js';
import { K, LevelStore } from '../../../src/control-plane/store/index.js';
import { call, createOrg, startHarness, type Harness } from '../helpers.js';

interface Audit {
  action: string;
  actor: string;
  resource: string;
  orgIds: string[];
  details: Record<string, unknown>;
}

let h: Harness;
afterEach(async () => h?.close());

async function denied(): Promise<Audit[]> {
  const r = await call(h, 'GET', '/v1/audit-events?limit=1000', h.admin);
  return (r.json().items as Audit[]).filter((e) => e.action === 'auth.denied');
}

async function failures(code: string, reason: string): Promise<number> {
  const m = await h.ctx.registry.getSingleMetric('consortia_api_auth_failures_total')!.get();
  return m.values.find((v) => v.labels['code'] === code && v.labels['reason'] === reason)?.value ?? 0;
}

describe('every 401 and 403 is audited without the secret and counted', () => {
  it('an unknown token: audited with route, method and client IP, never the secret or its hash', async () => {
    h = await startHarness();
    const secret = 'csa_' + 'S'.repeat(43);
    const before = await failures('UNAUTHENTICATED', 'unknown_token');
    const r = await h.app.inject({
      method: 'GET',
      url: '/v1/organizations?limit=5',
      headers: { authorization: `Bearer ${secret}` },
      remoteAddress: '203.0.113.7',
    });
    expect(r.statusCode).toBe(401);
    expect(await failures('UNAUTHENTICATED', 'unknown_token')).toBe(before + 1);
    const events = await denied();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actor: 'anonymous',
      resource: '/v1/organizations',
      orgIds: [],
      details: {
        status: 401,
        code: 'UNAUTHENTICATED',
        reason: 'unknown_token',
        method: 'GET',
        route: '/v1/organizations',
        clientIp: '203.0.113.7',
      },
    });
    const all = JSON.stringify(await h.store.all(K.audits()));
    expect(all).not.toContain(secret);
    expect(all).not.toContain(hashToken(secret));
    // missing and malformed headers are told apart
    await call(h, 'GET', '/v1/organizations');
    await call(h, 'GET', '/v1/organizations', undefined, undefined, { authorization: 'Basic abc' });
    expect(await failures('UNAUTHENTICATED', 'missing_token')).toBe(1);
    expect(await failures('UNAUTHENTICATED', 'malformed_token')).toBe(1);
  });

  it('a 403 names the token and its organization (the org sees it); an expired token is audited by id', async () => {
    h = await startHarness();
    const a = await createOrg(h, 'Alpha');
    const r = await call(h, 'POST', `/v1/organizations/${a.id}/tokens`, a.viewerToken, {
      name: 'x',
      role: 'org-admin',
    });
    expect(r.statusCode).toBe(403);
    expect(r.json().error.details.reason).toBe('role');
    expect(await failures('FORBIDDEN', 'role')).toBe(1);
    const viewerId = (await call(h, 'GET', '/v1/tokens/self', a.viewerToken)).json().id as string;
    const forbidden = (await denied()).find((e) => e.details['code'] === 'FORBIDDEN')!;
    expect(forbidden).toMatchObject({
      actor: `${a.id}/${viewerId}`,
      orgIds: [a.id],
      details: { tokenId: viewerId, route: '/v1/organizations/:orgId/tokens', method: 'POST' },
    });
    const seenByOrg = (await call(h, 'GET', '/v1/audit-events?limit=1000', a.adminToken)).json().items as Audit[];
    expect(seenByOrg.some((e) => e.action === 'auth.denied' && e.details['tokenId'] === viewerId)).toBe(true);
    expect(
      (await call(h, 'POST', '/v1/organizations', a.adminToken, { name: 'x', adminPublicKeys: ['00'.repeat(32)] }))
        .statusCode,
    ).toBe(403);
    expect(await failures('FORBIDDEN', 'platform_admin_required')).toBe(1);

    const short = (
      await call(h, 'POST', `/v1/organizations/${a.id}/tokens`, a.adminToken, {
        name: 's',
        role: 'org-viewer',
        ttlSeconds: 60,
      })
    ).json();
    h.clock.ms += 60_000;
    expect((await call(h, 'GET', `/v1/organizations/${a.id}`, short.token)).statusCode).toBe(401);
    expect(await failures('TOKEN_EXPIRED', 'expired')).toBe(1);
    const expired = (await denied()).find((e) => e.details['code'] === 'TOKEN_EXPIRED')!;
    expect(expired).toMatchObject({
      actor: `${a.id}/${short.id}`,
      orgIds: [a.id],
      details: { tokenId: short.id, reason: 'expired' },
    });
    expect(JSON.stringify(await h.store.all(K.audits()))).not.toContain(short.token);
  });

  it('repeats within a window are one record now and one with the count when the window ends; the metric counts each', async () => {
    h = await startHarness();
    for (let i = 0; i < 50; i++) expect((await call(h, 'GET', '/v1/clusters', 'csa_guess')).statusCode).toBe(401);
    expect(await failures('UNAUTHENTICATED', 'unknown_token')).toBe(50);
    expect(await denied()).toHaveLength(1);
    h.clock.ms += AUTH_AUDIT_WINDOW_MS;
    await call(h, 'GET', '/v1/clusters', 'csa_guess'); // the first of a new window flushes the old one
    const events = await denied();
    expect(events).toHaveLength(3);
    expect(events[1]!.details).toMatchObject({ repeats: 49, reason: 'unknown_token' });
    expect(events[2]!.details['repeats']).toBeUndefined();
  });

  it('distinct failures beyond AUTH_AUDIT_KEYS_PER_WINDOW_MAX fold into one overflow record', async () => {
    h = await startHarness();
    const n = AUTH_AUDIT_KEYS_PER_WINDOW_MAX + 20;
    for (let i = 0; i < n; i++) {
      const r = await h.app.inject({
        method: 'GET',
        url: '/v1/clusters',
        headers: { authorization: 'Bearer csa_x' },
        remoteAddress: `198.51.100.${i % 250}`,
      });
      expect(r.statusCode).toBe(401);
    }
    expect(await denied()).toHaveLength(AUTH_AUDIT_KEYS_PER_WINDOW_MAX);
    h.clock.ms += AUTH_AUDIT_WINDOW_MS;
    await call(h, 'GET', '/v1/clusters', 'csa_x');
    const overflow = (await denied()).filter((e) => e.details['overflow'] === true);
    expect(overflow).toHaveLength(1);
    expect(overflow[0]!.details['count']).toBe(20);
  });
});

describe('AuthFailureAudit retention', () => {
  let dir = '';
  let store: LevelStore | undefined;
  afterEach(async () => {
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps at most retainedMax records, deleting the oldest', async () => {
    dir = mkdtempSync(join(tmpdir(), 'auth-audit-'));
    store = new LevelStore(join(dir, 'store'));
    await store.open();
    let ms = Date.parse('2026-01-01T00:00:00Z');
    const audit = new AuthFailureAudit(store, () => ms, { retainedMax: 5 });
    const f = (i: number): AuthFailure => ({
      status: 401,
      code: 'UNAUTHENTICATED',
      reason: 'unknown_token',
      method: 'GET',
      route: '/v1/clusters',
      path: '/v1/clusters',
      clientIp: `10.0.0.${i}`,
    });
    for (let i = 0; i < 12; i++) {
      ms += 1;
      await audit.record(f(i));
    }
    const kept = await store.all<{ details: { clientIp: string } }>(K.audits());
    expect(kept.map((e) => e.details.clientIp)).toEqual(['10.0.0.7', '10.0.0.8', '10.0.0.9', '10.0.0.10', '10.0.0.11']);
    expect(await store.all(K.authFailures())).toHaveLength(5);
    // a restart counts what is already there
    const again = new AuthFailureAudit(store, () => ms, { retainedMax: 5 });
    await again.record(f(99));
    expect((await store.all<{ details: { clientIp: string } }>(K.audits())).map((e) => e.details.clientIp)[4]).toBe(
      '10.0.0.99',
    );
    expect(await store.all(K.audits())).toHaveLength(5);
  });
});
