import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../src/cli/index.js';

// Per-organization profiles (src/cli/context.ts): `--profile NAME`, CONSORTIA_PROFILE, `consortia use NAME`.
let home = '';
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'consortia-profiles-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (t) => (out += t.endsWith('\n') ? t : t + '\n'),
    err: (t) => (err += t.endsWith('\n') ? t : t + '\n'),
    errRaw: (t) => (err += t),
    isTTY: false,
    env,
    homedir: home,
    confirm: async () => false,
  };
  const code = await runCli(['--home', home, ...args], io);
  return { code, out, err };
}
const show = async (args: string[] = [], env: NodeJS.ProcessEnv = {}) =>
  JSON.parse((await cli([...args, '--json', 'config', 'show'], env)).out);

describe('CLI profiles', () => {
  it('keeps settings per organization, overlaid on the top-level ones', async () => {
    expect((await cli(['config', 'set', 'apiUrl', 'http://cp'])).code).toBe(0);
    expect((await cli(['--profile', 'acme', 'config', 'set', 'orgId', 'org-a'])).out).toContain('in profile acme');
    await cli(['--profile', 'globex', 'config', 'set', 'orgId', 'org-g']);
    expect(await show()).toMatchObject({ apiUrl: 'http://cp' });
    expect((await show()).orgId).toBeUndefined();
    expect(await show(['--profile', 'globex'])).toMatchObject({
      apiUrl: 'http://cp',
      orgId: 'org-g',
      profile: 'globex',
    });
    expect((await cli(['use', 'acme'])).code).toBe(0);
    expect(await show()).toMatchObject({ orgId: 'org-a', profile: 'acme' });
    // flag beats environment beats `use`
    expect(await show([], { CONSORTIA_PROFILE: 'globex' })).toMatchObject({ orgId: 'org-g' });
    expect(await show(['--profile', 'acme'], { CONSORTIA_PROFILE: 'globex' })).toMatchObject({ orgId: 'org-a' });
    const stored = JSON.parse(readFileSync(join(home, 'config.json'), 'utf8'));
    expect(stored).toMatchObject({
      currentProfile: 'acme',
      profiles: { acme: { orgId: 'org-a' }, globex: { orgId: 'org-g' } },
    });
  });

  it('refuses a bad profile name with a usage error', async () => {
    const r = await cli(['--profile', '../x', 'config', 'show']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('profile');
  });

  it('chain commands check their flags before any network use', async () => {
    const r = await cli(['asset', 'issue', 'bad/id', '--amount', '5', '--consortium', 'c1']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('asset id');
    const z = await cli(['asset', 'transfer', 'POINTS', '--to', 'aa', '--amount', '0', '--consortium', 'c1']);
    expect(z.code).toBe(2);
    const anchor = await cli(['anchor', 'verify', join(home, 'missing.pdf'), '--proof', 'x.json']);
    expect(anchor.code).toBe(2);
  });
});
