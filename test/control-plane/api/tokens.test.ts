import { afterEach, describe, expect, it } from 'vitest';
import {
  TOKEN_LAST_USED_RESOLUTION_MS,
  TOKEN_TTL_DEFAULT_SECONDS,
  hashToken,
} from '../../../src/control-plane/domain/tokens.js';
import { call, createOrg, startHarness, type Harness } from '../helpers.js';

let h: Harness;
afterEach(async () => h?.close());

async function mint(orgId: string, by: string, body: Record<string, unknown>) {
  const r = await call(h, 'POST', `/v1/organizations/${orgId}/tokens`, by, body);
  expect(r.statusCode, r.body).toBe(201);
  return r.json() as { id: string; token: string; expiresAt: string; createdAt: string };
}

describe('token expiry', () => {
  it('a token lives the configured default, or its ttlSeconds; past expiresAt it is 401 TOKEN_EXPIRED', async () => {
    h = await startHarness();
    const a = await createOrg(h, 'Alpha');
    const dflt = await mint(a.id, a.adminToken, { name: 'ci', role: 'org-viewer' });
    expect(Date.parse(dflt.expiresAt) - Date.parse(dflt.createdAt)).toBe(TOKEN_TTL_DEFAULT_SECONDS * 1000);
    const short = await mint(a.id, a.adminToken, { name: 'short', role: 'org-viewer', ttlSeconds: 3600 });
    expect(Date.parse(short.expiresAt) - h.clock.ms).toBe(3600_000);

    expect((await call(h, 'GET', `/v1/organizations/${a.id}`, short.token)).statusCode).toBe(200);
    h.clock.ms += 3600_000 - 1;
    expect((await call(h, 'GET', `/v1/organizations/${a.id}`, short.token)).statusCode).toBe(200);
    h.clock.ms += 1;
    const r = await call(h, 'GET', `/v1/organizations/${a.id}`, short.token);
    expect(r.statusCode).toBe(401);
    expect(r.json().error).toMatchObject({
      code: 'TOKEN_EXPIRED',
      details: { tokenId: short.id, expiredAt: short.expiresAt, reason: 'expired' },
    });
    // an unknown token stays UNAUTHENTICATED: the two are told apart
    expect((await call(h, 'GET', `/v1/organizations/${a.id}`, 'csa_nope')).json().error.code).toBe('UNAUTHENTICATED');
    // the listing says which one expired
    const list = (await call(h, 'GET', `/v1/organizations/${a.id}/tokens`, a.adminToken)).json().items as {
      id: string;
      expired: boolean;
    }[];
    expect(list.find((t) => t.id === short.id)?.expired).toBe(true);
    expect(list.find((t) => t.id === dflt.id)?.expired).toBe(false);
    h.clock.ms += TOKEN_TTL_DEFAULT_SECONDS * 1000;
    expect((await call(h, 'GET', `/v1/organizations/${a.id}`, dflt.token)).json().error.code).toBe('TOKEN_EXPIRED');
  });

  it('ttlSeconds is bounded by the configured maximum (400, nothing created) and the configured default applies', async () => {
    h = await startHarness({ tokens: { defaultTtlSeconds: 600, maxTtlSeconds: 7200 } });
    const a = await createOrg(h, 'Alpha');
    const before = (await call(h, 'GET', `/v1/organizations/${a.id}/tokens`, a.adminToken)).json().items.length;
    const over = await call(h, 'POST', `/v1/organizations/${a.id}/tokens`, a.adminToken, {
      name: 'x',
      role: 'org-viewer',
      ttlSeconds: 7201,
    });
    expect(over.statusCode).toBe(400);
    expect(over.json().error).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field: 'ttlSeconds', maxTtlSeconds: 7200 },
    });
    const under = await call(h, 'POST', `/v1/organizations/${a.id}/tokens`, a.adminToken, {
      name: 'x',
      role: 'org-viewer',
      ttlSeconds: 59,
    });
    expect(under.statusCode).toBe(400);
    expect((await call(h, 'GET', `/v1/organizations/${a.id}/tokens`, a.adminToken)).json().items.length).toBe(before);
    const t = await mint(a.id, a.adminToken, { name: 'x', role: 'org-viewer' });
    expect(Date.parse(t.expiresAt) - Date.parse(t.createdAt)).toBe(600_000);
  });
});

describe('token rotation', () => {
  it('without grace the old secret is refused at once; the new one has the same name and role', async () => {
    h = await startHarness();
    const a = await createOrg(h, 'Alpha');
    const old = await mint(a.id, a.adminToken, { name: 'deploy', role: 'org-operator' });
    const r = await call(h, 'POST', `/v1/organizations/${a.id}/tokens/${old.id}/rotate`, a.adminToken, {});
    expect(r.statusCode, r.body).toBe(201);
    const fresh = r.json();
    expect(fresh).toMatchObject({ name: 'deploy', role: 'org-operator', rotatedFrom: old.id });
    expect(fresh.token).toMatch(/^csa_/);
    expect(fresh.id).not.toBe(old.id);
    expect((await call(h, 'GET', `/v1/organizations/${a.id}`, old.token)).json().error.code).toBe('UNAUTHENTICATED');
    expect((await call(h, 'GET', `/v1/organizations/${a.id}`, fresh.token)).statusCode).toBe(200);
    expect((await call(h, 'GET', `/v1/organizations/${a.id}/tokens/${old.id}`, a.adminToken)).statusCode).toBe(404);
  });

  it('with a grace period both work until it ends; then the old one is TOKEN_EXPIRED and cannot be rotated again', async () => {
    h = await startHarness();
    const a = await createOrg(h, 'Alpha');
    const old = await mint(a.id, a.adminToken, { name: 'deploy', role: 'org-operator' });
    const fresh = (
      await call(h, 'POST', `/v1/organizations/${a.id}/tokens/${old.id}/rotate`, a.adminToken, {
        gracePeriodSeconds: 600,
        ttlSeconds: 86_400,
      })
    ).json();
    expect(Date.parse(fresh.expiresAt) - h.clock.ms).toBe(86_400_000);
    const oldMeta = (await call(h, 'GET', `/v1/organizations/${a.id}/tokens/${old.id}`, a.adminToken)).json();
    expect(oldMeta).toMatchObject({
      replacedBy: fresh.id,
      expiresAt: new Date(h.clock.ms + 600_000).toISOString(),
      expired: false,
    });
    expect((await call(h, 'GET', `/v1/organizations/${a.id}`, old.token)).statusCode).toBe(200);
    expect((await call(h, 'GET', `/v1/organizations/${a.id}`, fresh.token)).statusCode).toBe(200);
    const again = await call(h, 'POST', `/v1/organizations/${a.id}/tokens/${old.id}/rotate`, a.adminToken, {});
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toMatchObject({ code: 'INVALID_STATE', details: { replacedBy: fresh.id } });
    h.clock.ms += 600_000;
    expect((await call(h, 'GET', `/v1/organizations/${a.id}`, old.token)).json().error.code).toBe('TOKEN_EXPIRED');
    expect((await call(h, 'GET', `/v1/organizations/${a.id}`, fresh.token)).statusCode).toBe(200);
  });

  it('a token may read, rotate and revoke itself; not another of its organization, nor one of another organization', async () => {
    h = await startHarness();
    const a = await createOrg(h, 'Alpha');
    const b = await createOrg(h, 'Beta');
    const self = (await call(h, 'GET', '/v1/tokens/self', a.viewerToken)).json();
    expect(self).toMatchObject({ orgId: a.id, role: 'org-viewer', expired: false });
    const other = await mint(a.id, a.adminToken, { name: 'other', role: 'org-viewer' });
    const denied = await call(h, 'POST', `/v1/organizations/${a.id}/tokens/${other.id}/rotate`, a.viewerToken, {});
    expect(denied.statusCode).toBe(403);
    expect((await call(h, 'DELETE', `/v1/organizations/${a.id}/tokens/${other.id}`, a.viewerToken)).statusCode).toBe(
      403,
    );
    expect(
      (await call(h, 'POST', `/v1/organizations/${a.id}/tokens/${other.id}/rotate`, b.adminToken, {})).statusCode,
    ).toBe(404);
    expect((await call(h, 'GET', `/v1/organizations/${a.id}`, other.token)).statusCode).toBe(200);
    const rotated = await call(h, 'POST', `/v1/organizations/${a.id}/tokens/${self.id}/rotate`, a.viewerToken, {});
    expect(rotated.statusCode).toBe(201);
    expect(rotated.json().role).toBe('org-viewer');
    expect((await call(h, 'GET', `/v1/organizations/${a.id}`, a.viewerToken)).statusCode).toBe(401);
    const next = rotated.json();
    expect((await call(h, 'DELETE', `/v1/organizations/${a.id}/tokens/${next.id}`, next.token)).statusCode).toBe(204);
    expect((await call(h, 'GET', `/v1/organizations/${a.id}`, next.token)).statusCode).toBe(401);
  });

  it('the bootstrap platform-admin token rotates; the last valid platform token cannot be revoked; org tokens are refused', async () => {
    h = await startHarness();
    const a = await createOrg(h, 'Alpha');
    expect((await call(h, 'GET', '/v1/platform/tokens', a.adminToken)).statusCode).toBe(403);
    const list = (await call(h, 'GET', '/v1/platform/tokens', h.admin)).json().items as {
      id: string;
      name: string;
      role: string;
    }[];
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ name: 'bootstrap', role: 'platform-admin' });
    const last = await call(h, 'DELETE', `/v1/platform/tokens/${list[0]!.id}`, h.admin);
    expect(last.statusCode).toBe(409);
    expect(last.json().error.code).toBe('INVALID_STATE');
    const r = await call(h, 'POST', `/v1/platform/tokens/${list[0]!.id}/rotate`, h.admin, {});
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json()).toMatchObject({ role: 'platform-admin', orgId: null, rotatedFrom: list[0]!.id });
    const admin2 = r.json().token as string;
    expect((await call(h, 'GET', '/v1/organizations', h.admin)).statusCode).toBe(401);
    expect((await call(h, 'GET', '/v1/organizations', admin2)).statusCode).toBe(200);
    const extra = await call(h, 'POST', '/v1/platform/tokens', admin2, { name: 'ops', ttlSeconds: 3600 });
    expect(extra.statusCode).toBe(201);
    expect((await call(h, 'DELETE', `/v1/platform/tokens/${r.json().id}`, admin2)).statusCode).toBe(204);
    expect((await call(h, 'GET', '/v1/organizations', extra.json().token)).statusCode).toBe(200);
  });
});

describe('token listings', () => {
  it('never carry a secret or its hash, and show lastUsedAt to the minute', async () => {
    h = await startHarness();
    const a = await createOrg(h, 'Alpha');
    const t = await mint(a.id, a.adminToken, { name: 'ci', role: 'org-viewer' });
    const meta = () => call(h, 'GET', `/v1/organizations/${a.id}/tokens/${t.id}`, a.adminToken);
    expect((await meta()).json().lastUsedAt).toBeNull();
    const usedAt = h.clock.ms;
    await call(h, 'GET', `/v1/organizations/${a.id}`, t.token);
    expect((await meta()).json().lastUsedAt).toBe(new Date(usedAt).toISOString());
    h.clock.ms += TOKEN_LAST_USED_RESOLUTION_MS - 1;
    await call(h, 'GET', `/v1/organizations/${a.id}`, t.token);
    expect((await meta()).json().lastUsedAt).toBe(new Date(usedAt).toISOString());
    h.clock.ms += 1;
    await call(h, 'GET', `/v1/organizations/${a.id}`, t.token);
    expect((await meta()).json().lastUsedAt).toBe(new Date(h.clock.ms).toISOString());

    const bodies = [
      (await call(h, 'GET', `/v1/organizations/${a.id}/tokens`, a.adminToken)).body,
      (await meta()).body,
      (await call(h, 'GET', '/v1/tokens/self', t.token)).body,
      (await call(h, 'GET', '/v1/platform/tokens', h.admin)).body,
      (await call(h, 'GET', '/v1/audit-events?limit=1000', h.admin)).body,
    ];
    for (const b of bodies) {
      expect(b).not.toMatch(/csa_|tokenHash/);
      expect(b).not.toContain(hashToken(t.token));
      expect(b).not.toContain(hashToken(h.admin));
    }
  });
});

describe('token rotation with an Idempotency-Key', () => {
  it('an idempotent replay of a rotation returns the same new token id without the secret', async () => {
    h = await startHarness();
    const a = await createOrg(h, 'Alpha');
    const old = await mint(a.id, a.adminToken, { name: 'deploy', role: 'org-operator' });
    const url = `/v1/organizations/${a.id}/tokens/${old.id}/rotate`;
    const first = await call(h, 'POST', url, a.adminToken, { gracePeriodSeconds: 60 }, { 'idempotency-key': 'rot-1' });
    const replay = await call(h, 'POST', url, a.adminToken, { gracePeriodSeconds: 60 }, { 'idempotency-key': 'rot-1' });
    expect(first.statusCode).toBe(201);
    expect(replay.statusCode).toBe(201);
    expect(replay.headers['idempotent-replay']).toBe('true');
    expect(replay.json().id).toBe(first.json().id);
    expect(replay.json().token).toBeUndefined();
  });
});
