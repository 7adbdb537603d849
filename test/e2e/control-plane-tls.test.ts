/**
 * HTTPS of the control plane with the real binaries (dist/): a certificate generated on first
 * start, its fingerprint printed; the `consortia` CLI refusing it untrusted, refusing a wrong pin
 * (naming both fingerprints), pinning the right one at login; a configured certificate trusted
 * with --ca. Plain HTTP on a non-loopback address is refused in test/control-plane/main.test.ts.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSelfSignedCert, pemFingerprint } from '../../src/lib/tls-cert.js';
import { builtArtifactsPresent, CLI_MAIN, CP_MAIN, freePort } from '../harness/cp-harness.js';

const run = promisify(execFile);
const STARTUP_MS = 60_000;

interface Started {
  proc: ChildProcess;
  url: string;
  tls: { fingerprint: string; generated: boolean; certificate: string } | undefined;
}

/** Starts dist/control-plane/main.js with `config`; resolves on its 'listening' line. */
async function startCp(config: Record<string, unknown>, env: Record<string, string> = {}): Promise<Started> {
  const file = join(String(config['dataDir']), '..', `cp-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(config));
  const proc = spawn(process.execPath, [CP_MAIN, '--config', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  procs.push(proc);
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let tls: Started['tls'];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no listening line within ${STARTUP_MS} ms; stderr: ${stderr}`)),
      STARTUP_MS,
    );
    proc.once('exit', (code) => reject(new Error(`control plane exited ${code}: ${stderr}`)));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const ev = JSON.parse(line) as Record<string, unknown>;
      if (ev['event'] === 'tls') tls = ev as unknown as Started['tls'];
      if (ev['event'] === 'listening') {
        clearTimeout(timer);
        resolve({ proc, url: String(ev['url']), tls });
      }
    });
  });
}

const procs: ChildProcess[] = [];
const work = mkdtempSync(join(tmpdir(), 'consortia-tls-e2e-'));
const TOKEN = `e2e-tls-admin-${Date.now()}-${'x'.repeat(16)}`;

async function cli(home: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await run(process.execPath, [CLI_MAIN, '--home', home, ...args], {
      timeout: 60_000,
      env: { ...process.env, CONSORTIA_HOME: '', CONSORTIA_API_URL: '', CONSORTIA_TOKEN: '' },
    });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: e.stdout ?? '', err: e.stderr ?? '' };
  }
}

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!builtArtifactsPresent() || !existsSync(CLI_MAIN))(
  'control plane over HTTPS with the consortia CLI',
  () => {
    let cp: Started;
    const home = join(work, 'cli-home');
    beforeAll(async () => {
      const port = await freePort();
      cp = await startCp({
        dataDir: join(work, 'cp'),
        listen: `127.0.0.1:${port}`,
        bootstrapToken: TOKEN,
        logLevel: 'warn',
      });
    }, STARTUP_MS + 10_000);

    it('generates a certificate on first start and prints its fingerprint', () => {
      expect(cp.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(cp.tls?.generated).toBe(true);
      expect(cp.tls?.fingerprint).toBe(
        pemFingerprint(readFileSync(join(work, 'cp', 'tls', 'server.crt'), 'utf8'), 'test'),
      );
    });

    it('the CLI refuses the self-signed certificate without a pin or CA, and says what to pass', async () => {
      const r = await cli(home, ['--api-url', cp.url, '--token', TOKEN, 'org', 'list']);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/TLS_UNTRUSTED: .*--ca FILE.*--tls-fingerprint/);
    });

    it('a wrong pin fails with both fingerprints named and nothing saved', async () => {
      const wrong = 'sha256:' + '0'.repeat(64);
      const r = await cli(home, ['login', '--api-url', cp.url, '--token', TOKEN, '--tls-fingerprint', wrong]);
      expect(r.code).toBe(1);
      expect(r.err).toContain('TLS_FINGERPRINT_MISMATCH');
      expect(r.err).toContain(
        `presented a certificate with fingerprint ${cp.tls!.fingerprint}, but ${wrong} is pinned`,
      );
      expect(existsSync(join(home, 'config.json'))).toBe(false);
    });

    it('login with the printed fingerprint pins it in the profile; later commands use the pin', async () => {
      // the colon-separated upper-case spelling (openssl's) is the same fingerprint
      const colons = cp.tls!.fingerprint.slice('sha256:'.length).toUpperCase().match(/../g)!.join(':');
      const login = await cli(home, ['login', '--api-url', cp.url, '--token', TOKEN, '--tls-fingerprint', colons]);
      expect(login.code, login.err).toBe(0);
      const saved = JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')) as {
        tlsFingerprint?: string;
        apiUrl?: string;
      };
      expect(saved).toMatchObject({ tlsFingerprint: cp.tls!.fingerprint, apiUrl: cp.url });
      const list = await cli(home, ['--json', 'org', 'list']);
      expect(list.code, list.err).toBe(0);
      expect(() => JSON.parse(list.out) as unknown).not.toThrow();
    });

    it('a malformed pin, or a pin with an http:// URL, is a usage error (exit 2)', async () => {
      const bad = await cli(join(work, 'other-home'), [
        '--api-url',
        cp.url,
        '--token',
        TOKEN,
        '--tls-fingerprint',
        'sha256:abc',
        'org',
        'list',
      ]);
      expect(bad.code).toBe(2);
      expect(bad.err).toMatch(/must be a SHA-256 certificate fingerprint/);
      const http = await cli(join(work, 'other-home'), [
        '--api-url',
        cp.url.replace('https:', 'http:'),
        '--token',
        TOKEN,
        '--tls-fingerprint',
        cp.tls!.fingerprint,
        'org',
        'list',
      ]);
      expect(http.code).toBe(2);
      expect(http.err).toMatch(/need an https:\/\/ API URL/);
    });

    it(
      'keeps its certificate across a restart',
      async () => {
        const exited = new Promise((r) => cp.proc.once('exit', r));
        cp.proc.kill('SIGTERM');
        await exited;
        const port = Number(new URL(cp.url).port);
        const again = await startCp({
          dataDir: join(work, 'cp'),
          listen: `127.0.0.1:${port}`,
          bootstrapToken: TOKEN,
          logLevel: 'warn',
        });
        expect(again.tls).toMatchObject({ generated: false, fingerprint: cp.tls!.fingerprint });
        const list = await cli(home, ['--json', 'org', 'list']);
        expect(list.code, list.err).toBe(0);
      },
      STARTUP_MS + 10_000,
    );

    it(
      'serves a configured certificate (environment), trusted by the CLI with --ca',
      async () => {
        const made = await createSelfSignedCert(['127.0.0.1'], 'configured-cp');
        writeFileSync(join(work, 'cp.crt'), made.cert);
        writeFileSync(join(work, 'cp.key'), made.key, { mode: 0o600 });
        const port = await freePort();
        const cp2 = await startCp(
          { dataDir: join(work, 'cp2'), listen: `127.0.0.1:${port}`, bootstrapToken: TOKEN, logLevel: 'warn' },
          { CONSORTIA_TLS_CERT_FILE: join(work, 'cp.crt'), CONSORTIA_TLS_KEY_FILE: join(work, 'cp.key') },
        );
        expect(cp2.tls).toMatchObject({
          generated: false,
          fingerprint: pemFingerprint(made.cert, 'test'),
          certificate: join(work, 'cp.crt'),
        });
        // no server certificate was generated (the directory holds the node CA only)
        expect(existsSync(join(work, 'cp2', 'tls', 'server.crt'))).toBe(false);
        const r = await cli(join(work, 'ca-home'), [
          '--api-url',
          cp2.url,
          '--token',
          TOKEN,
          '--ca',
          join(work, 'cp.crt'),
          '--json',
          'org',
          'list',
        ]);
        expect(r.code, r.err).toBe(0);
      },
      STARTUP_MS + 10_000,
    );
  },
);
