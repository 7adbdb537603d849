/**
 * One run of the user journey through the real `consortia` binary (dist/cli/main.js):
 * keys, organizations, tokens, consortium, a validator with a progress wait, the ceremony
 * approved with client-side signatures, transcript download + verify, and a signed vote.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/cp-api.js';
import { builtArtifactsPresent, CLI_MAIN, startControlPlane, type ControlPlane } from '../harness/cp-harness.js';
import { existsSync } from 'node:fs';

const run = promisify(execFile);

describe.skipIf(!builtArtifactsPresent() || !existsSync(CLI_MAIN))('control plane e2e: the consortia CLI', () => {
  let cp: ControlPlane;
  let home = '';
  beforeAll(async () => {
    cp = await startControlPlane({ hostRange: { first: 200, last: 230 } });
    home = mkdtempSync(join(tmpdir(), 'consortia-cli-e2e-'));
  });
  afterAll(async () => {
    await cp?.shutdown();
    rmSync(home, { recursive: true, force: true });
  });

  async function cli(args: string[], token?: string): Promise<{ code: number; out: string; err: string }> {
    try {
      const r = await run(process.execPath, [CLI_MAIN, '--home', home, ...(token ? ['--token', token] : []), ...args], {
        timeout: 120_000,
        env: { ...process.env, CONSORTIA_HOME: '' },
      });
      return { code: 0, out: r.stdout, err: r.stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, out: e.stdout ?? '', err: e.stderr ?? '' };
    }
  }
  async function json(args: string[], token?: string): Promise<any> {
    const r = await cli(['--json', ...args], token);
    if (r.code !== 0) throw new Error(`consortia ${args.join(' ')} failed (${r.code}): ${r.err}`);
    return JSON.parse(r.out);
  }

  it('walks a founding journey with client-side keys and signatures', async () => {
    expect((await cli(['login', '--api-url', cp.url, '--token', cp.token])).code).toBe(0);
    const ka = await json(['keys', 'create', '--org', 'acme']);
    await json(['keys', 'create', '--org', 'globex']);
    expect(statSync(ka.file).mode & 0o777).toBe(0o600);
    const a = await json(['org', 'create', '--name', 'acme', '--key-org', 'acme']);
    const b = await json(['org', 'create', '--name', 'globex', '--key-org', 'globex']);
    expect(a.adminPublicKeys).toEqual([ka.publicKey]);
    const ta = (await json(['token', 'create', '--org', a.id, '--name', 'ops', '--role', 'org-admin'])).token as string;
    const tb = (await json(['token', 'create', '--org', b.id, '--name', 'ops', '--role', 'org-admin'])).token as string;

    const bad = await cli(['consortium', 'create', '--name', 'x', '--founders', a.id, '--threshold', '150'], ta);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--threshold');

    const c = await json(
      [
        'consortium',
        'create',
        '--name',
        'trade',
        '--founders',
        `${a.id},${b.id}`,
        '--block-interval-ms',
        '200',
        '--threshold',
        '50',
        '--proposal-duration',
        '60',
      ],
      ta,
    );
    const nodes = await json(
      ['node', 'create', c.id, '--org', a.id, '--role', 'validator', '--wait', '--timeout', '60'],
      ta,
    );
    expect(nodes[0].status.phase).toBe('Running');
    const started = await cli(['ceremony', 'start', c.id, '--wait', '--timeout', '60'], ta);
    expect(started.code).toBe(0);
    expect(started.err).toContain('ceremony'); // plain progress lines (not a TTY)
    const ap = await cli(['ceremony', 'approve', c.id, '--member', a.id, '--key-org', 'acme', '--yes'], ta);
    expect(ap.code).toBe(0);
    expect(ap.err).toMatch(/hash:\s+[0-9a-f]{64}/);
    // approving in another member's name is refused by the API
    const wrong = await cli(['ceremony', 'approve', c.id, '--member', a.id, '--key-org', 'globex', '--yes'], tb);
    expect(wrong.code).not.toBe(0);
    const bp = await json(['ceremony', 'approve', c.id, '--member', b.id, '--key-org', 'globex', '--yes'], tb);
    expect(bp.status).toBe('SEALED');
    const ready = await json(['node', 'wait', c.id, '--ready', '--timeout', '60'], ta);
    expect(ready[0].status.ready).toBe(true);

    const file = join(home, 'transcript.json');
    expect((await cli(['ceremony', 'transcript', 'download', c.id, '-o', file], tb)).code).toBe(0);
    const verified = await cli(['ceremony', 'transcript', 'verify', file]);
    expect(verified.code).toBe(0);
    expect(verified.out).toContain('transcript OK');

    await json(['keys', 'create', '--org', 'initech']);
    const d = await json(['org', 'create', '--name', 'initech', '--key-org', 'initech']);
    const td = (await json(['token', 'create', '--org', d.id, '--name', 'ops', '--role', 'org-admin'])).token as string;
    const p = await json(['proposal', 'create', c.id, '--invite', d.id], ta);
    expect(p.status).toBe('IN_PROGRESS');
    await json(['vote', c.id, p.id, '--yes', '--member', a.id, '--key-org', 'acme'], ta);
    const after = await json(['vote', c.id, p.id, '--yes', '--member', b.id, '--key-org', 'globex'], tb);
    expect(after.status).toBe('APPROVED');
    // approved, and it joins once it accepts: the invitee finds the invitation and signs its answer
    const invitations = await json(['invitation', 'list', '--org', d.id], td);
    expect(invitations.map((x: any) => x.id)).toEqual([p.id]);
    const accepted = await json(['invitation', 'accept', c.id, p.id, '--org', d.id, '--key-org', 'initech'], td);
    expect(accepted.invitation.status).toBe('ACCEPTED');
    const members = await waitFor(
      'the invitee is a member',
      async () => {
        const m = await json(['member', 'list', c.id], ta);
        return m.some((x: any) => x.memberId === d.id) ? m : undefined;
      },
      60_000,
      1000,
    );
    expect(members.map((m: any) => m.memberId)).toEqual(expect.arrayContaining([a.id, b.id, d.id]));

    // after genesis, B's ordinary node joins only once B signed its registration (client-side) and the chain executed it
    const [ord] = await json(
      ['node', 'create', c.id, '--org', b.id, '--role', 'ordinary', '--retention-blocks', '500'],
      tb,
    );
    expect(ord.mode).toBe('keygen');
    const reg = await json(
      ['node', 'register', c.id, ord.id, '--member', b.id, '--key-org', 'globex', '--timeout', '90'],
      tb,
    );
    expect(reg.registration.status).toBe('REGISTERED');
    const joined = await json(['node', 'wait', c.id, '--ready', '--timeout', '90'], tb);
    expect(joined.find((n: any) => n.id === ord.id).status.ready).toBe(true);
    const synced = await waitFor(
      'ordinary node synced',
      async () => {
        const n = await json(['node', 'show', c.id, ord.id], tb);
        return (n.status.height ?? 0) > 0 ? n : undefined;
      },
      30_000,
      1000,
    );
    expect(synced.mode).toBe('run');

    // platform operations: a member cannot roll images or delete; the platform admin can
    const denied = await cli(['consortium', 'set-image', c.id, 'registry.example/consortia-node:2.1.0'], ta);
    expect(denied.code).toBe(3);
    expect(denied.err).toContain('FORBIDDEN');
    const badImage = await cli(['consortium', 'set-image', c.id, 'Not An Image']);
    expect(badImage.code).toBe(1);
    expect(badImage.err).toContain('nodeImage');
    // its nodes are local processes: an image would change nothing, so it is refused, saying why
    const localImage = await cli(['consortium', 'set-image', c.id, 'registry.example/consortia-node:2.1.0']);
    expect(localImage.code).toBe(1);
    expect(localImage.err).toContain('INVALID_STATE');
    expect(localImage.err).toContain('local processes');
    expect((await json(['consortium', 'delete', c.id])).status).toBe('DELETING');
    const gone = await waitFor(
      'consortium deleted',
      async () => {
        const x = await json(['consortium', 'show', c.id]);
        return x.status === 'DELETED' ? x : undefined;
      },
      60_000,
      1000,
    );
    expect(gone.status).toBe('DELETED');
    expect((await json(['node', 'list', c.id])).every((n: any) => n.status.phase === 'Deleted')).toBe(true);
  });
});
