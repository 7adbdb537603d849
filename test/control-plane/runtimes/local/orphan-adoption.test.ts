import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../../src/lib/logging.js';
import { createLocalRuntime, stopAllLocalNodes } from '../../../../src/control-plane/runtimes/local/index.js';
import { nodePaths } from '../../../../src/control-plane/runtimes/local/node-config.js';
import { readPidFile } from '../../../../src/control-plane/runtimes/local/node-process.js';
import { isPidAlive } from '../../../../src/control-plane/runtimes/local/process-info.js';
import type { NodeSpec } from '../../../../src/control-plane/runtimes/runtime.js';

/**
 * A control plane killed between spawning a node and writing its pid file leaves a node process
 * the pid file does not name. The next control plane must adopt it, not start the node twice.
 */
const FAKE_NODE = fileURLToPath(new URL('./support/fake-node.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'consortia-local-orphan-'));
afterAll(async () => {
  await stopAllLocalNodes(dir);
  rmSync(dir, { recursive: true, force: true });
});

describe('local runtime: a node process without a pid file', () => {
  it('is adopted by the next apply instead of being started a second time', async () => {
    const spec: NodeSpec = {
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
    };
    const rt = createLocalRuntime({
      baseDir: dir,
      nodeEntrypoint: FAKE_NODE,
      logger: createLogger('silent'),
      hostRange: { first: 231, last: 235 },
      baseBackoffMs: 100,
    });
    try {
      // what the killed control plane left: config written, process started, no pid file
      await rt.apply(spec);
      const paths = nodePaths(dir, 'c1', 'n1');
      const first = readPidFile(paths.pidFile)!.pid;
      await rt.close();
      process.kill(-first, 'SIGTERM');
      await waitUntil(() => !isPidAlive(first));
      rmSync(paths.pidFile, { force: true });
      const orphan = spawn(process.execPath, [FAKE_NODE, '--config', paths.configFile], {
        cwd: paths.dir,
        detached: true,
        stdio: 'ignore',
      });
      orphan.unref();
      await waitUntil(() => processesFor(paths.configFile).includes(orphan.pid!));

      const rt2 = createLocalRuntime({
        baseDir: dir,
        nodeEntrypoint: FAKE_NODE,
        logger: createLogger('silent'),
        hostRange: { first: 231, last: 235 },
        baseBackoffMs: 100,
      });
      try {
        await rt2.apply(spec);
        expect(processesFor(paths.configFile)).toEqual([orphan.pid]);
        expect(readPidFile(paths.pidFile)?.pid).toBe(orphan.pid);
      } finally {
        await rt2.close();
      }
    } finally {
      await rt.close();
    }
  });
});

async function waitUntil(pred: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Live processes started with `--config <configFile>` (the test's own /proc scan). */
function processesFor(configFile: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      const i = argv.indexOf('--config');
      if (i >= 0 && argv[i + 1] === configFile && isPidAlive(Number(e))) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}
