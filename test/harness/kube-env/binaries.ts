import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (test/harness/kube-env -> ../../..). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface KubeBinaries {
  kubeApiserver: string;
  etcd: string;
}

/** Everything the real one-node cluster (../cluster) runs besides Debian's containerd, runc and CNI plugins. */
export interface ClusterBinaries extends KubeBinaries {
  kubeControllerManager: string;
  kubeScheduler: string;
  kubelet: string;
  kubeProxy: string;
  /** For commands a user types (README's), not for the harness. */
  kubectl: string;
  coredns: string;
  /** docker-archive of the pod sandbox image (.ci/tools/pause-image.sh). */
  pauseArchive: string;
}

/** Runs a .ci/tools script and returns the last line it printed (a path that must exist). */
export function runTool(script: string, args: string[] = []): string {
  const out = execFileSync('bash', [join(REPO_ROOT, '.ci', 'tools', script), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    // A cold build of the Kubernetes binaries takes about 10 minutes on 2 cores (the timeout leaves room for a slow host).
    timeout: 85 * 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const path = out.trim().split('\n').pop() ?? '';
  if (!path || !existsSync(path)) throw new Error(`${script} printed no usable path (got "${path}")`);
  return path;
}

/**
 * Builds or reuses the binaries through the .ci/tools scripts (idempotent, cached under
 * .cache/k8s and ~/.cache/consortia/k8s). KUBE_APISERVER_BIN / ETCD_BIN override.
 */
export function ensureKubeBinaries(env: NodeJS.ProcessEnv = process.env): KubeBinaries {
  const kubeApiserver =
    env['KUBE_APISERVER_BIN'] && existsSync(env['KUBE_APISERVER_BIN'])
      ? env['KUBE_APISERVER_BIN']
      : join(runTool('kube.sh'), 'kube-apiserver');
  const etcd = env['ETCD_BIN'] && existsSync(env['ETCD_BIN']) ? env['ETCD_BIN'] : runTool('etcd.sh');
  return { kubeApiserver, etcd };
}

/** The cluster's binaries: installs the Debian packages first (root), then builds or reuses the rest. */
export function ensureClusterBinaries(): ClusterBinaries {
  execFileSync('bash', [join(REPO_ROOT, '.ci', 'tools', 'cluster-packages.sh')], {
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 20 * 60_000,
  });
  const kube = runTool('kube.sh');
  return {
    kubeApiserver: join(kube, 'kube-apiserver'),
    kubeControllerManager: join(kube, 'kube-controller-manager'),
    kubeScheduler: join(kube, 'kube-scheduler'),
    kubelet: join(kube, 'kubelet'),
    kubeProxy: join(kube, 'kube-proxy'),
    kubectl: join(kube, 'kubectl'),
    etcd: runTool('etcd.sh'),
    coredns: runTool('coredns.sh'),
    pauseArchive: runTool('pause-image.sh'),
  };
}
