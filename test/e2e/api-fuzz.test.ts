/**
 * OpenAPI-driven fuzzing of both HTTP APIs: .ci/tools/schemathesis.sh installs schemathesis
 * (pinned, into .cache/) and runs its checks against a real control plane and a real
 * 1-validator chain node, bounded in time (see the script for the checks and why one is
 * excluded). Zero failures = exit 0.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { builtArtifactsPresent, ROOT } from '../harness/cp-harness.js';

const run = promisify(execFile);
const SCRIPT = join(ROOT, '.ci/tools/schemathesis.sh');

describe.skipIf(!builtArtifactsPresent())('API fuzzing (schemathesis, OpenAPI-driven)', () => {
  it('finds no failure in the control plane or the chain node API', { timeout: 900_000 }, async () => {
    // Install apart (a cold pip install is slow, and not part of the fuzzing budget).
    await run('bash', [SCRIPT, 'install'], { cwd: ROOT, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 });
    const started = Date.now();
    let out = '';
    let code = 0;
    try {
      const r = await run('bash', [SCRIPT], { cwd: ROOT, timeout: 420_000, maxBuffer: 64 * 1024 * 1024 });
      out = r.stdout + r.stderr;
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      code = typeof e.code === 'number' ? e.code : 1;
      out = (e.stdout ?? '') + (e.stderr ?? '');
    }
    if (code !== 0) process.stderr.write(out.slice(-20_000));
    expect(code, 'schemathesis.sh exit code (its output is above)').toBe(0);
    expect(out).toMatch(/fuzzing the chain node/);
    expect(Date.now() - started).toBeLessThan(300_000);
  });
});
