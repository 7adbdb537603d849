import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
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
import { readPidFile } from '../../../../src/control-plane/runtimes/local/node-process.js';
import type { NodeObservation, NodeSpec } from '../../../../src/control-plane/runtimes/runtime.js';

/** The local runtime delivers the node's admin credential in a 0600 file and reports a node that refuses its genesis. */
const FAKE_NODE = fileURLToPath(new URL('./support/fake-node.mjs', import.meta.url));
const dirs: string[] = [];
const runtimes: LocalRuntime[] = [];
const TOKEN = 'cna_' + 'T'.repeat(43);

function newRuntime(entrypoint = FAKE_NODE): LocalRuntime {
  const dir = mkdtempSync(join(tmpdir(), 'consortia-local-cred-'));
  dirs.push(dir);
  const rt = createLocalRuntime({
    baseDir: dir,
    nodeEntrypoint: entrypoint,
    logger: createLogger('silent'),
    hostRange: { first: 221, last: 230 },
    baseBackoffMs: 100,
    maxBackoffMs: 400,
  });
  runtimes.push(rt);
  return rt;
}

function spec(over: Partial<NodeSpec> = {}): NodeSpec {
  return {
    nodeId: 'n1',
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
  ms = 15_000,
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

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.close()));
  for (const d of dirs) await stopAllLocalNodes(d);
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('local runtime: node admin credential', () => {
  it('writes the token to a 0600 file named by the config, never into the config; a new token needs no restart', async () => {
    const rt = newRuntime();
    const expectedGenesis = { members: [{ memberId: 'org1', adminKeys: ['ab'.repeat(32)] }], includesSelf: true };
    const s = spec({ adminToken: TOKEN, expectedGenesis });
    await rt.apply(s);
    await until(rt, s, (o) => o.phase === 'Running');
    const paths = rt.pathsOf('c1', 'n1');
    expect(readFileSync(paths.adminTokenFile, 'utf8')).toBe(TOKEN);
    expect(statSync(paths.adminTokenFile).mode & 0o777).toBe(0o600);
    const configText = readFileSync(paths.configFile, 'utf8');
    expect(configText).not.toContain(TOKEN);
    const cfg = JSON.parse(configText) as Record<string, unknown>;
    expect(cfg.adminTokenFile).toBe(paths.adminTokenFile);
    expect(cfg.expectedGenesis).toEqual(expectedGenesis);

    const pid = readPidFile(paths.pidFile)!.pid;
    const other = 'cna_' + 'U'.repeat(43);
    await rt.apply({ ...s, adminToken: other, generation: 2 });
    expect(readFileSync(paths.adminTokenFile, 'utf8')).toBe(other);
    expect(readPidFile(paths.pidFile)!.pid).toBe(pid);
    // a spec without a token leaves the node without one (its admin endpoints closed)
    await rt.apply({ ...s, adminToken: undefined, generation: 3 } as NodeSpec);
    expect(existsSync(paths.adminTokenFile)).toBe(false);
  });

  it('reports a node that exits with GENESIS_MISMATCH (code 3) as Failed with its reason, through its restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'consortia-local-mismatch-'));
    dirs.push(dir);
    // stands in for dist/node/main.js finding a foreign genesis in its data directory
    const script = join(dir, 'mismatch-node.mjs');
    writeFileSync(
      script,
      [
        `process.stderr.write(JSON.stringify({ level: 'info', msg: 'starting' }) + '\\n');`,
        `process.stderr.write(JSON.stringify({ level: 'error', msg: 'fatal', code: 'GENESIS_MISMATCH', error: 'the data directory holds genesis ${'aa'.repeat(32)}, not the configured genesis ${'bb'.repeat(32)}' }) + '\\n');`,
        `setTimeout(() => process.exit(3), 150);`,
      ].join('\n'),
    );
    const rt = newRuntime(script);
    const s = spec({ adminToken: TOKEN });
    await rt.apply(s);
    const failed = await until(rt, s, (o) => o.phase === 'Failed');
    expect(failed.message).toBe(
      `GENESIS_MISMATCH: the data directory holds genesis ${'aa'.repeat(32)}, not the configured genesis ${'bb'.repeat(32)}`,
    );
    expect(failed.ready).toBe(false);
    // it keeps being restarted (a fixed data directory recovers on its own) and keeps being reported
    await until(rt, s, (o) => (o.restarts ?? 0) >= 2);
    for (let i = 0; i < 10; i++) {
      const o = await rt.observe(s);
      expect(o.phase, JSON.stringify(o)).toBe('Failed');
      expect(o.message).toMatch(/^GENESIS_MISMATCH: /);
      await new Promise((r) => setTimeout(r, 60));
    }
  });
});
