// `keys rotate`, `keys switch` and `member recover-key`: bad input is refused before anything is
// created or sent, naming the flag. The full journey runs in test/e2e/key-rotation.test.ts.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../src/cli/index.js';

let home: string;

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (t) => (out += t.endsWith('\n') ? t : `${t}\n`),
    err: (t) => (err += t.endsWith('\n') ? t : `${t}\n`),
    errRaw: (t) => (err += t),
    isTTY: false,
    env: {},
    homedir: home,
    confirm: async () => false,
  };
  // an API nobody listens on: a command that got as far as calling it would fail with API_UNREACHABLE
  const code = await runCli(['--home', home, '--api-url', 'http://127.0.0.1:9', '--token', 't', ...args], io);
  return { code, out, err };
}

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'consortia-cli-rotation-'));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('key rotation commands refuse bad input naming it', () => {
  it('member recover-key needs exactly one of --new-admin-key / --new-key-org, and 32-byte hex', async () => {
    const neither = await cli(['member', 'recover-key', 'cons_1', '--member', 'org_a']);
    expect(neither.code).toBe(2);
    expect(neither.err).toContain('exactly one of --new-admin-key');
    const both = await cli([
      'member',
      'recover-key',
      'cons_1',
      '--member',
      'org_a',
      '--new-admin-key',
      'ab',
      '--new-key-org',
      'x',
    ]);
    expect(both.code).toBe(2);
    const short = await cli(['member', 'recover-key', 'cons_1', '--member', 'org_a', '--new-admin-key', 'abcd']);
    expect(short.code).toBe(2);
    expect(short.err).toContain('--new-admin-key must be 32 bytes of hex');
  });

  it('keys rotate needs --new-key-org and a current key, and makes no key on bad input', async () => {
    const noNew = await cli(['keys', 'rotate', 'cons_1', '--member', 'org_a']);
    expect(noNew.code).not.toBe(0);
    expect(noNew.err).toContain('--new-key-org');
    const noOld = await cli(['keys', 'rotate', 'cons_1', '--member', 'org_a', '--new-key-org', 'acme-2']);
    expect(noOld.code).toBe(2);
    expect(noOld.err).toContain('no signing key given');
    const badTimeout = await cli(['keys', 'rotate', 'cons_1', '--new-key-org', 'acme-2', '--timeout', 'soon']);
    expect(badTimeout.code).toBe(2);
    expect(badTimeout.err).toContain('--timeout');
    expect(existsSync(join(home, 'keys', 'acme-2.key'))).toBe(false);
  });

  it('keys switch names a missing local key', async () => {
    const r = await cli(['keys', 'switch', 'cons_1', 'prop_1', '--new-key-org', 'nope', '--member', 'org_a']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('KEY_NOT_FOUND');
  });
});
