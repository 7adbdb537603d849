/**
 * Control-plane e2e harness: runs the real `node dist/control-plane/main.js` (embedded store,
 * local runtime spawning real `dist/node/main.js` processes) on loopback with free ports, and
 * cleans up every process it caused in afterAll.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stopAllLocalNodes } from '../../src/control-plane/runtimes/local/index.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CP_MAIN = join(ROOT, 'dist/control-plane/main.js');
export const NODE_MAIN = join(ROOT, 'dist/node/main.js');
export const CLI_MAIN = join(ROOT, 'dist/cli/main.js');

/** e2e runs only against built artifacts; until both exist the suites are skipped. */
export function builtArtifactsPresent(): boolean {
  return existsSync(CP_MAIN) && existsSync(NODE_MAIN);
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, host, () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

export interface ControlPlane {
  url: string;
  token: string;
  workDir: string;
  nodesDir: string;
  proc(): ChildProcess;
  /** SIGKILL (no cleanup chance) and wait for exit. */
  kill9(): Promise<void>;
  /** Start again with the same config (store, nodes dir, port). */
  restart(): Promise<void>;
  /** Stop the control plane and every node process under its nodes dir, remove the work dir. */
  shutdown(): Promise<void>;
}

export interface StartOptions {
  hostRange?: { first: number; last: number };
  reconcileIntervalMs?: number;
  keepWorkDir?: boolean;
  /** Extra control-plane configuration (e.g. encryptionKey, kubernetesRuntime). */
  config?: Record<string, unknown>;
}

export async function startControlPlane(opts: StartOptions = {}): Promise<ControlPlane> {
  const workDir = mkdtempSync(join(tmpdir(), 'consortia-cp-e2e-'));
  const nodesDir = join(workDir, 'nodes');
  mkdirSync(nodesDir, { recursive: true });
  const port = await freePort();
  const token = `e2e-platform-admin-${Math.random().toString(36).slice(2)}${Date.now()}`;
  const configFile = join(workDir, 'control-plane.json');
  writeFileSync(
    configFile,
    JSON.stringify(
      {
        dataDir: join(workDir, 'store'),
        listen: `127.0.0.1:${port}`,
        bootstrapToken: token,
        logLevel: 'warn',
        reconcileIntervalMs: opts.reconcileIntervalMs ?? 200,
        maxBackoffMs: 2000,
        localRuntime: {
          baseDir: nodesDir,
          nodeEntrypoint: NODE_MAIN,
          hostRange: opts.hostRange ?? { first: 100, last: 199 },
          baseBackoffMs: 200,
          maxBackoffMs: 2000,
        },
        // Plain HTTP, asked for explicitly (allowed on loopback only); test/e2e/control-plane-tls.test.ts covers HTTPS.
        tls: { mode: 'off' },
        ...opts.config,
      },
      null,
      2,
    ),
  );
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const log = openSync(join(workDir, 'control-plane.log'), 'a');
    child = spawn(process.execPath, [CP_MAIN, '--config', configFile], {
      cwd: workDir,
      stdio: ['ignore', log, log],
      env: { ...process.env, CONSORTIA_LOG_LEVEL: process.env.CP_LOG_LEVEL ?? 'warn' },
    });
    closeSync(log);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null)
        throw new Error(`control plane exited with ${child.exitCode}; see ${join(workDir, 'control-plane.log')}`);
      try {
        const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
        if (r.ok) return;
      } catch {
        /* not up yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('control plane did not become healthy within 30s');
  };

  const waitExit = (c: ChildProcess, ms: number): Promise<void> =>
    new Promise((res) => {
      if (c.exitCode !== null || c.signalCode !== null) return res();
      const t = setTimeout(res, ms);
      c.once('exit', () => {
        clearTimeout(t);
        res();
      });
    });

  await launch();
  return {
    url,
    token,
    workDir,
    nodesDir,
    proc: () => child!,
    kill9: async () => {
      if (!child) return;
      child.kill('SIGKILL');
      await waitExit(child, 5000);
    },
    restart: launch,
    shutdown: async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await waitExit(child, 5000);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      await stopAllLocalNodes(nodesDir);
      // CONSORTIA_E2E_KEEP=1 keeps the work dir (control-plane.log, nodes/<cid>/<nodeId>/node.log) for post-mortems.
      if (!opts.keepWorkDir && !process.env.CONSORTIA_E2E_KEEP) rmSync(workDir, { recursive: true, force: true });
      else process.stderr.write(`control-plane e2e work dir kept: ${workDir}\n`);
    },
  };
}
