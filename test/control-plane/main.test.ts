/** Smoke test of the process entry point (run from source through tsx). */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetch as undiciFetch, type Agent } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { pemFingerprint } from '../../src/lib/tls-cert.js';
import { tlsDispatcher } from '../../src/lib/tls-client.js';

const procs: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'cp-main-'));
afterAll(() => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function start(
  extraEnv: Record<string, string> = {},
): Promise<{ proc: ChildProcess; lines: Record<string, unknown>[]; url: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/control-plane/main.ts'], {
    env: {
      ...process.env,
      CONSORTIA_DATA_DIR: dir,
      CONSORTIA_LISTEN: '127.0.0.1:0',
      CONSORTIA_LOG_LEVEL: 'warn',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(proc);
  const lines: Record<string, unknown>[] = [];
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no listening line; stderr: ${err}`)), 20_000);
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = JSON.parse(buf.slice(0, i)) as Record<string, unknown>;
        buf = buf.slice(i + 1);
        lines.push(line);
        if (line['event'] === 'listening') {
          clearTimeout(t);
          resolve({ proc, lines, url: String(line['url']) });
        }
      }
    });
    proc.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

describe('control-plane main', () => {
  it('prints the bootstrap token once, serves the API, stops on SIGTERM, and keeps state across restarts', async () => {
    const first = await start();
    // HTTPS by default: a self-signed certificate generated into the data directory, its fingerprint printed
    const tls = first.lines.find((l) => l['event'] === 'tls');
    expect(tls).toMatchObject({ generated: true, selfSigned: true, certificate: join(dir, 'tls', 'server.crt') });
    expect(tls!['fingerprint']).toBe(pemFingerprint(readFileSync(join(dir, 'tls', 'server.crt'), 'utf8'), 'test'));
    expect(first.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const pinned: Agent = tlsDispatcher({ fingerprint: String(tls!['fingerprint']) });
    const fetch = (url: string, init: Parameters<typeof undiciFetch>[1] = {}) =>
      undiciFetch(url, { ...init, dispatcher: pinned });
    const tokenLine = first.lines.find((l) => l['event'] === 'bootstrap-token');
    expect(tokenLine?.['token']).toMatch(/^csa_/);
    const token = String(tokenLine!['token']);
    const r = await fetch(`${first.url}/v1/organizations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Acme', adminPublicKeys: ['ab'.repeat(32)] }),
    });
    expect(r.status).toBe(201);
    expect((statSync(join(dir, 'submitter.key')).mode & 0o777).toString(8)).toBe('600');
    // The node CA, generated once (key owner-only), served read-only to any token.
    expect((statSync(join(dir, 'tls', 'node-ca.key')).mode & 0o777).toString(8)).toBe('600');
    const nodeCa = (await (
      await fetch(`${first.url}/v1/platform/node-ca`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { caCertificate: string; fingerprint: string };
    expect(nodeCa.caCertificate).toBe(readFileSync(join(dir, 'tls', 'node-ca.crt'), 'utf8'));
    expect(nodeCa.fingerprint).toBe(pemFingerprint(nodeCa.caCertificate, 'node CA'));
    const exited = new Promise<number | null>((res) => first.proc.on('exit', (c) => res(c)));
    first.proc.kill('SIGTERM');
    expect(await exited).toBe(0);

    const second = await start();
    // the same certificate after a restart: a pinned client keeps working
    expect(second.lines.find((l) => l['event'] === 'tls')).toMatchObject({
      generated: false,
      fingerprint: tls!['fingerprint'],
    });
    expect(second.lines.some((l) => l['event'] === 'bootstrap-token')).toBe(false);
    const list = (await (
      await fetch(`${second.url}/v1/organizations`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { items: { name: string }[] };
    expect(list.items.map((o) => o.name)).toEqual(['Acme']);
    // the same node CA after a restart: certificates issued to nodes stay valid
    expect(
      (
        (await (
          await fetch(`${second.url}/v1/platform/node-ca`, { headers: { authorization: `Bearer ${token}` } })
        ).json()) as { fingerprint: string }
      ).fingerprint,
    ).toBe(nodeCa.fingerprint);
    expect((await fetch(`${second.url}/readyz`)).status).toBe(200);
    const exited2 = new Promise<number | null>((res) => second.proc.on('exit', (c) => res(c)));
    second.proc.kill('SIGTERM');
    expect(await exited2).toBe(0);
  }, 60_000);

  it('refuses plain HTTP on a non-loopback listen address, naming the settings', async () => {
    const err = await start({
      CONSORTIA_INSECURE_HTTP: '1',
      CONSORTIA_LISTEN: '0.0.0.0:0',
      CONSORTIA_DATA_DIR: join(dir, 'plain'),
    }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/^exited 1: /);
    const line = JSON.parse(err!.message.slice('exited 1: '.length).trim().split('\n').pop()!) as {
      code: string;
      error: string;
    };
    expect(line.code).toBe('INVALID_CONFIG');
    expect(line.error).toMatch(
      /tls\.mode \(CONSORTIA_INSECURE_HTTP\) is 'off' \(plain HTTP\) but listen \(CONSORTIA_LISTEN\) "0\.0\.0\.0" is not a loopback address/,
    );
  }, 60_000);

  it('serves plain HTTP on loopback when asked for explicitly', async () => {
    const plain = await start({ CONSORTIA_INSECURE_HTTP: '1', CONSORTIA_DATA_DIR: join(dir, 'plain-loopback') });
    expect(plain.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(plain.lines.some((l) => l['event'] === 'tls')).toBe(false);
    expect((await fetch(`${plain.url}/healthz`)).status).toBe(200);
    const exited = new Promise<number | null>((res) => plain.proc.on('exit', (c) => res(c)));
    plain.proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);
});
