/** `consortia token ...` against the real control plane (in-process, real store, listening on loopback). */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../src/cli/index.js';
import { call, createOrg, startHarness, type Harness, type OrgFixture } from '../control-plane/helpers.js';

let h: Harness;
let a: OrgFixture;
let base = '';
let home = '';
const homes: string[] = [];

beforeAll(async () => {
  h = await startHarness();
  a = await createOrg(h, 'Alpha');
  base = await h.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await h.close();
  for (const d of homes) rmSync(d, { recursive: true, force: true });
});
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'consortia-cli-tokens-'));
  homes.push(home);
});

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (t) => (out += t.endsWith('\n') ? t : t + '\n'),
    err: (t) => (err += t.endsWith('\n') ? t : t + '\n'),
    errRaw: (t) => (err += t),
    isTTY: false,
    env: {},
    homedir: home,
    confirm: async () => false,
  };
  const code = await runCli(['--home', home, ...args], io);
  return { code, out, err };
}

describe('consortia token', () => {
  it('create (with --ttl), list without secrets, rotate with a grace period, revoke', async () => {
    expect((await cli(['login', '--api-url', base, '--token', a.adminToken, '--org', a.id])).code).toBe(0);
    const created = await cli(['--json', 'token', 'create', '--name', 'ci', '--role', 'org-viewer', '--ttl', '2h']);
    expect(created.code, created.err).toBe(0);
    const t = JSON.parse(created.out) as { id: string; token: string; expiresAt: string; createdAt: string };
    expect(Date.parse(t.expiresAt) - Date.parse(t.createdAt)).toBe(7_200_000);
    expect((await call(h, 'GET', `/v1/organizations/${a.id}`, t.token)).statusCode).toBe(200);

    const list = await cli(['token', 'list']);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/EXPIRES\s+LAST USED\s+STATUS/);
    expect(list.out).toContain(t.id);
    expect(list.out).not.toContain('csa_');

    const rotated = await cli(['--json', 'token', 'rotate', t.id, '--grace', '10m']);
    expect(rotated.code, rotated.err).toBe(0);
    const n = JSON.parse(rotated.out) as { id: string; token: string; rotatedFrom: string };
    expect(n.rotatedFrom).toBe(t.id);
    expect((await call(h, 'GET', `/v1/organizations/${a.id}`, t.token)).statusCode).toBe(200);
    h.clock.ms += 600_000;
    expect((await call(h, 'GET', `/v1/organizations/${a.id}`, t.token)).json().error.code).toBe('TOKEN_EXPIRED');
    expect((await cli(['token', 'list'])).out).toMatch(new RegExp(`${t.id}.*expired`));

    expect((await cli(['token', 'revoke', n.id])).out).toContain(`token ${n.id} revoked`);
    expect((await call(h, 'GET', `/v1/organizations/${a.id}`, n.token)).statusCode).toBe(401);
  });

  it('rotate without an id rotates the token the CLI uses and saves the new one in the config', async () => {
    const mine = (
      await call(h, 'POST', `/v1/organizations/${a.id}/tokens`, a.adminToken, { name: 'laptop', role: 'org-admin' })
    ).json();
    expect((await cli(['login', '--api-url', base, '--token', mine.token, '--org', a.id])).code).toBe(0);
    const r = await cli(['token', 'rotate']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('the old one is revoked; the new token is saved in');
    const saved = JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')).token as string;
    expect(saved).not.toBe(mine.token);
    expect((await call(h, 'GET', `/v1/organizations/${a.id}`, mine.token)).statusCode).toBe(401);
    const show = await cli(['--json', 'token', 'show']);
    expect(show.code, show.err).toBe(0);
    expect(JSON.parse(show.out)).toMatchObject({ name: 'laptop', rotatedFrom: mine.id, status: 'active' });
  });

  it('clear errors: bad durations and conflicting scopes are usage errors (exit 2); an expired token exits 3 naming TOKEN_EXPIRED', async () => {
    expect((await cli(['login', '--api-url', base, '--token', a.adminToken, '--org', a.id])).code).toBe(0);
    const bad = await cli(['token', 'create', '--name', 'x', '--ttl', '5 weeks']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--ttl must be a duration like 3600, 45s, 30m, 12h or 90d');
    const both = await cli(['token', 'list', '--org', a.id, '--platform']);
    expect(both.code).toBe(2);
    expect(both.err).toContain('either --org ORG_ID or --platform');
    const platformRole = await cli(['token', 'create', '--platform', '--name', 'x', '--role', 'org-admin']);
    expect(platformRole.code).toBe(2);
    const over = await cli(['token', 'create', '--name', 'x', '--ttl', '400d']);
    expect(over.code).toBe(1);
    expect(over.err).toContain('VALIDATION_FAILED');

    const short = (
      await call(h, 'POST', `/v1/organizations/${a.id}/tokens`, a.adminToken, {
        name: 'short',
        role: 'org-viewer',
        ttlSeconds: 60,
      })
    ).json();
    h.clock.ms += 60_000;
    const expired = await cli(['--token', short.token, 'token', 'show']);
    expect(expired.code).toBe(3);
    expect(expired.err).toContain('TOKEN_EXPIRED');
  });

  it('platform tokens: the platform-admin lists and rotates them with --platform', async () => {
    const extra = (await call(h, 'POST', '/v1/platform/tokens', h.admin, { name: 'ops' })).json();
    expect((await cli(['login', '--api-url', base, '--token', extra.token])).code).toBe(0);
    const list = await cli(['--json', 'token', 'list', '--platform']);
    expect(list.code, list.err).toBe(0);
    expect((JSON.parse(list.out) as { name: string }[]).map((t) => t.name).sort()).toEqual(['bootstrap', 'ops']);
    const r = await cli(['token', 'rotate', '--grace', '60']);
    expect(r.code, r.err).toBe(0);
    const saved = JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')).token as string;
    expect((await call(h, 'GET', '/v1/platform/tokens', saved)).statusCode).toBe(200);
    expect((await call(h, 'GET', '/v1/platform/tokens', extra.token)).statusCode).toBe(200); // within the grace period
  });
});
