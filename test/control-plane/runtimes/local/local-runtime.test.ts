import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../../src/lib/logging.js';
import {
  createLocalRuntime,
  stopAllLocalNodes,
  type LocalRuntime,
} from '../../../../src/control-plane/runtimes/local/index.js';
import { isPidAlive, processCommandLine } from '../../../../src/control-plane/runtimes/local/process-info.js';
import { readPidFile } from '../../../../src/control-plane/runtimes/local/node-process.js';
import type { NodeObservation, NodeSpec } from '../../../../src/control-plane/runtimes/runtime.js';

const FAKE_NODE = fileURLToPath(new URL('./support/fake-node.mjs', import.meta.url));
const dirs: string[] = [];
const runtimes: LocalRuntime[] = [];

function newRuntime(baseDir?: string): LocalRuntime {
  const dir = baseDir ?? mkdtempSync(join(tmpdir(), 'consortia-local-rt-'));
  if (!baseDir) dirs.push(dir);
  const rt = createLocalRuntime({
    baseDir: dir,
    nodeEntrypoint: FAKE_NODE,
    logger: createLogger('silent'),
    hostRange: { first: 200, last: 220 },
    baseBackoffMs: 100,
  });
  runtimes.push(rt);
  return rt;
}

function spec(nodeId: string, over: Partial<NodeSpec> = {}): NodeSpec {
  return {
    nodeId,
    consortiumId: 'c1',
    chainId: 'chain-c1',
    orgId: 'org1',
    role: 'validator',
    tier: {},
    resources: { cpu: '500m', memory: '256Mi' },
    mode: 'keygen',
    peers: [],
    generation: 1,
    ...over,
  };
}

async function until(
  rt: LocalRuntime,
  s: NodeSpec,
  pred: (o: NodeObservation) => boolean,
  ms = 10_000,
): Promise<NodeObservation> {
  const deadline = Date.now() + ms;
  let last: NodeObservation = { phase: 'Absent', ready: false };
  while (Date.now() < deadline) {
    last = await rt.observe(s);
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`condition not reached; last observation ${JSON.stringify(last)}`);
}

function pidOf(rt: LocalRuntime, s: NodeSpec): number {
  const rec = readPidFile(rt.pathsOf(s.consortiumId, s.nodeId).pidFile);
  if (!rec) throw new Error('no pid file');
  return rec.pid;
}

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.close()));
  for (const d of dirs) await stopAllLocalNodes(d);
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('local runtime', () => {
  it('starts a keygen node on its own loopback host and reports identity without readiness', async () => {
    const rt = newRuntime();
    const s = spec('n1');
    await rt.apply(s);
    const obs = await until(rt, s, (o) => o.phase === 'Running');
    expect(obs.identity?.publicKey).toMatch(/^[0-9a-f]{64}$/);
    expect(obs.ready).toBe(false);
    expect(obs.endpoints?.api).toMatch(/^http:\/\/127\.0\.0\.(2\d\d):\d+$/);
    const paths = rt.pathsOf('c1', 'n1');
    const cfg = JSON.parse(readFileSync(paths.configFile, 'utf8')) as Record<string, unknown>;
    expect(cfg.genesisFile).toBeUndefined();
    expect(cfg.apiListen).toBe(obs.endpoints?.api.replace('http://', ''));
    expect(readFileSync(paths.logFile, 'utf8')).toContain('fake node validator listening');
  });

  it('gives distinct hosts to distinct nodes and keeps them across runtime instances', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'consortia-local-rt-'));
    dirs.push(dir);
    const rt = newRuntime(dir);
    await rt.apply(spec('a'));
    await rt.apply(spec('b'));
    const a = await until(rt, spec('a'), (o) => o.phase === 'Running');
    const b = await until(rt, spec('b'), (o) => o.phase === 'Running');
    expect(new URL(a.endpoints!.api).hostname).not.toBe(new URL(b.endpoints!.api).hostname);
    await rt.close();
    const rt2 = newRuntime(dir);
    const a2 = await rt2.observe(spec('a'));
    expect(a2.endpoints).toEqual(a.endpoints);
  });

  it('is idempotent: re-applying the same content (even with a new generation) does not restart', async () => {
    const rt = newRuntime();
    const s = spec('n1');
    await rt.apply(s);
    await until(rt, s, (o) => o.phase === 'Running');
    const pid = pidOf(rt, s);
    await rt.apply(s);
    await rt.apply({ ...s, generation: 2 });
    expect(pidOf(rt, s)).toBe(pid);
    expect(isPidAlive(pid)).toBe(true);
  });

  it('rewrites the config with the genesis and restarts when the spec switches to run mode', async () => {
    const rt = newRuntime();
    const s = spec('n1');
    await rt.apply(s);
    const before = await until(rt, s, (o) => o.phase === 'Running');
    const pid = pidOf(rt, s);
    const genesis = { genesis: { chainId: 'chain-c1' }, approvals: [] };
    const run = {
      ...s,
      mode: 'run' as const,
      genesis,
      generation: 2,
      peers: [{ publicKey: 'aa'.repeat(32), address: '127.0.0.9:1' }],
    };
    await rt.apply(run);
    const after = await until(rt, run, (o) => o.ready);
    expect(pidOf(rt, s)).not.toBe(pid);
    expect(isPidAlive(pid)).toBe(false);
    expect(after.identity?.publicKey).toBe(before.identity?.publicKey); // key survives in the data dir
    expect(after.message).toBe('height 7');
    const paths = rt.pathsOf('c1', 'n1');
    expect(JSON.parse(readFileSync(paths.genesisFile, 'utf8'))).toEqual(genesis);
    const cfg = JSON.parse(readFileSync(paths.configFile, 'utf8')) as { genesisFile: string; peers: unknown[] };
    expect(cfg.genesisFile).toBe(paths.genesisFile);
    expect(cfg.peers).toHaveLength(1);
  });

  it('restarts a crashed node with backoff', async () => {
    const rt = newRuntime();
    const s = spec('n1');
    await rt.apply(s);
    await until(rt, s, (o) => o.phase === 'Running');
    const pid = pidOf(rt, s);
    process.kill(pid, 'SIGKILL');
    const obs = await until(rt, s, (o) => o.phase === 'Running' && (o.restarts ?? 0) >= 1);
    expect(pidOf(rt, s)).not.toBe(pid);
    expect(obs.restarts).toBe(1);
  });

  it('adopts a running node after a control-plane restart instead of starting a duplicate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'consortia-local-rt-'));
    dirs.push(dir);
    const rt = newRuntime(dir);
    const s = spec('n1');
    await rt.apply(s);
    await until(rt, s, (o) => o.phase === 'Running');
    const pid = pidOf(rt, s);
    await rt.close(); // control plane goes away; the node keeps running
    expect(isPidAlive(pid)).toBe(true);
    const rt2 = newRuntime(dir);
    expect(rt2.adoptExisting()).toBe(1);
    await rt2.apply({ ...s, generation: 5 });
    expect(pidOf(rt2, s)).toBe(pid);
    expect(processCommandLine(pid)).toContain(rt2.pathsOf('c1', 'n1').configFile);
    // and the adopted process is supervised: killing it triggers a restart
    process.kill(pid, 'SIGKILL');
    await until(rt2, s, (o) => o.phase === 'Running' && pidOf(rt2, s) !== pid);
  });

  it('does not adopt a stranger whose pid was reused', async () => {
    const rt = newRuntime();
    const s = spec('n1');
    await rt.apply(s);
    await until(rt, s, (o) => o.phase === 'Running');
    const paths = rt.pathsOf('c1', 'n1');
    await rt.close();
    await stopAllLocalNodes(dirs[dirs.length - 1]!);
    // forge a pid file pointing at this test process (alive, but not the node)
    const { writeFileSync } = await import('node:fs');
    writeFileSync(paths.pidFile, JSON.stringify({ pid: process.pid, configFile: paths.configFile, startedAt: 0 }));
    const rt2 = newRuntime(dirs[dirs.length - 1]);
    expect(rt2.adoptExisting()).toBe(0);
    await rt2.apply(s);
    await until(rt2, s, (o) => o.phase === 'Running');
    expect(pidOf(rt2, s)).not.toBe(process.pid);
  });

  it('delete stops the process and removes its directory; deleting again succeeds', async () => {
    const rt = newRuntime();
    const s = spec('n1');
    await rt.apply(s);
    await until(rt, s, (o) => o.phase === 'Running');
    const pid = pidOf(rt, s);
    const dir = rt.pathsOf('c1', 'n1').dir;
    await rt.delete(s);
    expect(isPidAlive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect((await rt.observe(s)).phase).toBe('Absent');
    await rt.delete(s);
  });

  it('refuses unsafe ids and run mode without genesis', async () => {
    const rt = newRuntime();
    await expect(rt.apply(spec('../escape'))).rejects.toMatchObject({ code: 'LOCAL_INVALID_SPEC' });
    await expect(rt.apply(spec('n2', { mode: 'run' }))).rejects.toMatchObject({ code: 'LOCAL_INVALID_SPEC' });
  });

  it('writes tier settings into the config', async () => {
    const rt = newRuntime();
    const s = spec('light1', { role: 'light', tier: { followAccounts: ['bb'.repeat(32)] } });
    await rt.apply(s);
    const cfg = JSON.parse(readFileSync(rt.pathsOf('c1', 'light1').configFile, 'utf8')) as Record<string, unknown>;
    expect(cfg.role).toBe('light');
    expect(cfg.followAccounts).toEqual(['bb'.repeat(32)]);
    expect(statSync(rt.pathsOf('c1', 'light1').dataDir).isDirectory()).toBe(true);
  });
});
