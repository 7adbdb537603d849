import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (test/k8s/env -> ../../..). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface KubeBinaries {
  kubeApiserver: string;
  etcd: string;
}

function runTool(script: string): string {
  const out = execFileSync('bash', [join(REPO_ROOT, '.ci', 'tools', script)], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    // A cold kube-apiserver build takes tens of minutes on 2 cores; CI allows 90.
    timeout: 85 * 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const path = out.trim().split('\n').pop() ?? '';
  if (!path || !existsSync(path)) throw new Error(`${script} printed no usable binary path (got "${path}")`);
  return path;
}

/**
 * Builds or reuses the binaries through the .ci/tools scripts (idempotent, cached under
 * .cache/k8s and ~/.cache/consortia/k8s). KUBE_APISERVER_BIN / ETCD_BIN override.
 */
export function ensureKubeBinaries(env: NodeJS.ProcessEnv = process.env): KubeBinaries {
  const kubeApiserver = env['KUBE_APISERVER_BIN'] && existsSync(env['KUBE_APISERVER_BIN']) ? env['KUBE_APISERVER_BIN'] : runTool('kube-apiserver.sh');
  const etcd = env['ETCD_BIN'] && existsSync(env['ETCD_BIN']) ? env['ETCD_BIN'] : runTool('etcd.sh');
  return { kubeApiserver, etcd };
}
