import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureKubeBinaries, type KubeBinaries } from './binaries.js';
import { generateCerts } from './certs.js';
import { kubeconfigYaml } from './kubeconfig.js';
import { freePort } from './ports.js';
import { get, startProcess, stopProcess, waitUntil } from './process.js';

/**
 * A real kube-apiserver + etcd on loopback, started like controller-runtime's envtest: no
 * kubelet, no controller-manager, no scheduler. Objects are stored and validated, admission
 * and RBAC run, watches work; nothing reconciles StatefulSets into Pods (tests write Pods).
 */
export interface KubeEnv {
  kubeconfigPath: string;
  kubeconfig: string;
  server: string;
  token: string;
  caCert: string;
  dir: string;
  stop(): Promise<void>;
}

export interface StartKubeEnvOptions {
  binaries?: KubeBinaries;
  /** Max wait for /readyz. */
  readyTimeoutMs?: number;
  /** Keep the temp dir (logs) after stop(). */
  keepDir?: boolean;
}

export async function startKubeEnv(o: StartKubeEnvOptions = {}): Promise<KubeEnv> {
  const bins = o.binaries ?? ensureKubeBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'consortia-kube-env-'));
  let etcd: ChildProcess | undefined;
  let apiserver: ChildProcess | undefined;
  const killAll = () => {
    apiserver?.kill('SIGKILL');
    etcd?.kill('SIGKILL');
  };
  process.once('exit', killAll);
  const stop = async () => {
    process.off('exit', killAll);
    await stopProcess(apiserver);
    await stopProcess(etcd);
    if (!o.keepDir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [etcdClient, etcdPeer, securePort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    etcd = startProcess(
      bins.etcd,
      [
        '--name',
        'default',
        '--data-dir',
        join(dir, 'etcd'),
        '--listen-client-urls',
        etcdUrl,
        '--advertise-client-urls',
        etcdUrl,
        '--listen-peer-urls',
        `http://127.0.0.1:${etcdPeer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${etcdPeer}`,
        '--initial-cluster',
        `default=http://127.0.0.1:${etcdPeer}`,
        '--quota-backend-bytes',
        String(1024 * 1024 * 1024),
      ],
      join(dir, 'etcd.log'),
    );
    await waitUntil(
      'etcd',
      30_000,
      etcd,
      async () => (await get(`${etcdUrl}/health`)).status === 200,
      join(dir, 'etcd.log'),
    );

    const certs = generateCerts(dir);
    const token = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'tokens.csv'), `${token},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });
    const server = `https://127.0.0.1:${securePort}`;
    apiserver = startProcess(
      bins.kubeApiserver,
      [
        `--etcd-servers=${etcdUrl}`,
        `--secure-port=${securePort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--cert-dir=${join(dir, 'apiserver-certs')}`,
        `--tls-cert-file=${certs.servingCert}`,
        `--tls-private-key-file=${certs.servingKey}`,
        `--client-ca-file=${certs.caCert}`,
        `--token-auth-file=${join(dir, 'tokens.csv')}`,
        '--authorization-mode=RBAC',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${certs.saPub}`,
        `--service-account-signing-key-file=${certs.saKey}`,
        '--service-cluster-ip-range=10.96.0.0/16',
        // No controller-manager creates the `default` ServiceAccount, so pods could not be admitted.
        '--disable-admission-plugins=ServiceAccount',
        '--allow-privileged=false',
        '--endpoint-reconciler-type=none',
        '--enable-priority-and-fairness=false',
        '--profiling=false',
        '--v=1',
      ],
      join(dir, 'kube-apiserver.log'),
    );
    const ca = readFileSync(certs.caCert, 'utf8');
    await waitUntil(
      'kube-apiserver',
      o.readyTimeoutMs ?? 120_000,
      apiserver,
      async () => (await get(`${server}/readyz`, { ca, token })).status === 200,
      join(dir, 'kube-apiserver.log'),
    );
    const kubeconfig = kubeconfigYaml(server, ca, token, 'envtest');
    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfig, { mode: 0o600 });
    return { kubeconfigPath, kubeconfig, server, token, caCert: certs.caCert, dir, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
