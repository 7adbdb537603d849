import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BOOTSTRAP_ROTATION_GRACE_SECONDS, ensureBootstrap } from '../../../src/control-plane/api/bootstrap.js';
import { buildServer } from '../../../src/control-plane/server.js';
import { hashToken } from '../../../src/control-plane/domain/tokens.js';
import { LevelStore, repositories } from '../../../src/control-plane/store/index.js';

const T1 = `csa_first_${'a'.repeat(30)}`;
const T2 = `csa_second_${'b'.repeat(30)}`;

describe('configured bootstrap token', () => {
  let dir = '';
  let store: LevelStore | undefined;
  const tokens = { defaultTtlSeconds: 30 * 86_400, maxTtlSeconds: 60 * 86_400 };
  afterEach(async () => {
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  async function openStore(): Promise<LevelStore> {
    dir = mkdtempSync(join(tmpdir(), 'cp-boot-'));
    const s = new LevelStore(join(dir, 'store'));
    await s.open();
    return s;
  }

  it('expires like any token; a newly configured one replaces it after a grace period; a rotated-away one is not re-added at start', async () => {
    store = await openStore();
    const clock = { ms: Date.parse('2026-01-01T00:00:00Z') };
    const now = () => clock.ms;
    expect(await ensureBootstrap(store, { now, tokens, bootstrapToken: T1 })).toEqual({});
    const { app } = await buildServer({ store, now, tokens });
    const get = (t: string) =>
      app.inject({ method: 'GET', url: '/v1/organizations', headers: { authorization: `Bearer ${t}` } });
    try {
      expect((await get(T1)).statusCode).toBe(200);
      const [first] = (
        await app.inject({ method: 'GET', url: '/v1/platform/tokens', headers: { authorization: `Bearer ${T1}` } })
      ).json().items;
      expect(first.expiresAt).toBe(new Date(clock.ms + 30 * 86_400_000).toISOString());

      // restart with the same configuration: nothing changes
      await ensureBootstrap(store, { now, tokens, bootstrapToken: T1 });
      expect(
        (
          await app.inject({ method: 'GET', url: '/v1/platform/tokens', headers: { authorization: `Bearer ${T1}` } })
        ).json().items,
      ).toHaveLength(1);

      // a new configured secret: added, and the old one ends after the grace period
      await ensureBootstrap(store, { now, tokens, bootstrapToken: T2 });
      expect((await get(T1)).statusCode).toBe(200);
      expect((await get(T2)).statusCode).toBe(200);
      clock.ms += BOOTSTRAP_ROTATION_GRACE_SECONDS * 1000;
      expect((await get(T1)).json().error.code).toBe('TOKEN_EXPIRED');
      expect((await get(T2)).statusCode).toBe(200);

      // rotated away through the API (no grace), then a restart with T2 still configured: not re-added
      const list = (
        await app.inject({ method: 'GET', url: '/v1/platform/tokens', headers: { authorization: `Bearer ${T2}` } })
      ).json().items as { id: string; expired: boolean }[];
      const t2 = list.find((t) => !t.expired)!;
      const rot = await app.inject({
        method: 'POST',
        url: `/v1/platform/tokens/${t2.id}/rotate`,
        headers: { authorization: `Bearer ${T2}` },
        payload: {},
      });
      expect(rot.statusCode).toBe(201);
      await ensureBootstrap(store, { now, tokens, bootstrapToken: T2 });
      expect((await get(T2)).json().error.code).toBe('UNAUTHENTICATED');
      expect((await get(rot.json().token as string)).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('a token stored before tokens expired gets a full lifetime from the upgrade, not from its creation', async () => {
    store = await openStore();
    const clock = { ms: Date.parse('2026-01-01T00:00:00Z') };
    const now = () => clock.ms;
    await ensureBootstrap(store, { now, tokens, bootstrapToken: T1 });
    // As an older release wrote it: created a year ago, no expiresAt.
    const hash = hashToken(T1);
    await store.transact(async (uow) => {
      const repo = repositories(uow);
      const tok = (await repo.tokens.get('_platform', `tok_bootstrap_${hash.slice(0, 8)}`))!;
      const { expiresAt: _dropped, ...legacy } = tok;
      await repo.tokens.put({ ...legacy, createdAt: new Date(clock.ms - 365 * 86_400_000).toISOString() });
    });
    await ensureBootstrap(store, { now, tokens, bootstrapToken: T1 });
    const { app } = await buildServer({ store, now, tokens });
    const get = () =>
      app.inject({ method: 'GET', url: '/v1/organizations', headers: { authorization: `Bearer ${T1}` } });
    try {
      expect((await get()).statusCode).toBe(200);
      clock.ms += 30 * 86_400_000;
      expect((await get()).json().error.code).toBe('TOKEN_EXPIRED');
    } finally {
      await app.close();
    }
  });
});
