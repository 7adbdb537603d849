/** Smoke test of the process entry point (run from source through tsx). */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const procs: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'cp-main-'));
afterAll(() => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function start(): Promise<{ proc: ChildProcess; lines: Record<string, unknown>[]; url: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/control-plane/main.ts'], {
    env: { ...process.env, CONSORTIA_DATA_DIR: dir, CONSORTIA_LISTEN: '127.0.0.1:0', CONSORTIA_LOG_LEVEL: 'warn' },
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
      let i;
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
    const tokenLine = first.lines.find((l) => l['event'] === 'bootstrap-token');
    expect(tokenLine?.['token']).toMatch(/^csa_/);
    const token = String(tokenLine!['token']);
    const r = await fetch(`${first.url}/v1/organizations`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Acme', adminPublicKeys: ['ab'.repeat(32)] }),
    });
    expect(r.status).toBe(201);
    expect((statSync(join(dir, 'submitter.key')).mode & 0o777).toString(8)).toBe('600');
    const exited = new Promise<number | null>((res) => first.proc.on('exit', (c) => res(c)));
    first.proc.kill('SIGTERM');
    expect(await exited).toBe(0);

    const second = await start();
    expect(second.lines.some((l) => l['event'] === 'bootstrap-token')).toBe(false);
    const list = await (await fetch(`${second.url}/v1/organizations`, { headers: { authorization: `Bearer ${token}` } })).json() as { items: { name: string }[] };
    expect(list.items.map((o) => o.name)).toEqual(['Acme']);
    expect((await fetch(`${second.url}/readyz`)).status).toBe(200);
    const exited2 = new Promise<number | null>((res) => second.proc.on('exit', (c) => res(c)));
    second.proc.kill('SIGTERM');
    expect(await exited2).toBe(0);
  }, 60_000);
});
