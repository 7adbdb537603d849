/**
 * Runs the real control plane (`node dist/control-plane/main.js`, embedded store, local runtime
 * spawning real dist/node/main.js processes) on loopback for a benchmark, and tears down every
 * process it caused. Only 127.0.0.x addresses are used.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stopAllLocalNodes } from '../../src/control-plane/runtimes/local/index.js';

export const ROOT = resolve(import.meta.dirname, '../..');
const CP_MAIN = join(ROOT, 'dist/control-plane/main.js');
const NODE_MAIN = join(ROOT, 'dist/node/main.js');

export interface ControlPlaneProcess {
  url: string;
  token: string;
  workDir: string;
  stop(): Promise<void>;
}

export interface ControlPlaneProcessOptions {
  hostRange: { first: number; last: number };
  reconcileIntervalMs?: number;
  keepWorkDir?: boolean;
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

function waitExit(c: ChildProcess, ms: number): Promise<void> {
  return new Promise((res) => {
    if (c.exitCode !== null || c.signalCode !== null) return res();
    const t = setTimeout(res, ms);
    c.once('exit', () => {
      clearTimeout(t);
      res();
    });
  });
}

export async function startControlPlaneProcess(opts: ControlPlaneProcessOptions): Promise<ControlPlaneProcess> {
  if (!existsSync(CP_MAIN) || !existsSync(NODE_MAIN)) throw new Error('dist/ is missing: run `npm run build` first');
  const workDir = mkdtempSync(join(tmpdir(), 'consortia-bench-'));
  const nodesDir = join(workDir, 'nodes');
  mkdirSync(nodesDir, { recursive: true });
  const port = await freePort();
  const token = `bench-platform-admin-${Math.random().toString(36).slice(2)}${Date.now()}`;
  const configFile = join(workDir, 'control-plane.json');
  writeFileSync(configFile, JSON.stringify({
    dataDir: join(workDir, 'store'),
    listen: `127.0.0.1:${port}`,
    bootstrapToken: token,
    logLevel: 'warn',
    reconcileIntervalMs: opts.reconcileIntervalMs ?? 100,
    maxBackoffMs: 1000,
    localRuntime: { baseDir: nodesDir, nodeEntrypoint: NODE_MAIN, hostRange: opts.hostRange, baseBackoffMs: 100, maxBackoffMs: 1000, nodeLogLevel: 'warn' },
  }));
  const log = openSync(join(workDir, 'control-plane.log'), 'a');
  const child = spawn(process.execPath, [CP_MAIN, '--config', configFile], { cwd: workDir, stdio: ['ignore', log, log] });
  closeSync(log);
  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await waitExit(child, 5000);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await stopAllLocalNodes(nodesDir);
    if (!opts.keepWorkDir) rmSync(workDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`control plane exited with ${child.exitCode}`);
    }
    try {
      if ((await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) })).ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error('control plane did not become healthy within 30 s');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, token, workDir, stop };
}
