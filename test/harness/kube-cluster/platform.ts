/**
 * The platform as a cloud admin installs it: charts/consortia with our control-plane image,
 * into the real cluster, then used only through its REST API. Shared by the cluster suite and
 * bench/provision.ts (--runtime kubernetes).
 */
import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { CHART_DIR, runHelm } from '../../charts/helm.js';
import type { BuiltImages } from './images.js';

export interface PlatformOptions {
  helm: string;
  kubeconfig: string;
  kubeconfigPath: string;
  images: BuiltImages;
  /** Where cluster DNS answers (the bridge address), to turn in-cluster URLs into addresses. */
  dns: { host: string; port: number };
  namespace?: string;
  release?: string;
  /** The control plane's kubernetesRuntime options (chart value controlPlane.config). */
  runtime?: Record<string, unknown>;
}

export interface Platform {
  namespace: string;
  release: string;
  /** Base URL of the control plane through its Service (reached from this host by kube-proxy's rules). */
  url: string;
  token: string;
  core: CoreV1Api;
  apps: AppsV1Api;
  /** In-cluster URL (http://svc.ns.svc.cluster.local:port) -> the same URL with the Service's address. */
  hostUrl(inCluster: string): Promise<string>;
  controlPlanePod(): Promise<V1Pod | undefined>;
  helm(args: string[], timeoutMs?: number): { status: number; stdout: string; stderr: string };
  uninstall(): void;
}

export async function installPlatform(o: PlatformOptions): Promise<Platform> {
  const namespace = o.namespace ?? 'consortia';
  const release = o.release ?? 'consortia';
  const token = `cst_${randomBytes(24).toString('hex')}`;
  const [repo, tag] = splitImage(o.images.controlPlane.image);
  const values = {
    image: { repository: repo, tag, pullPolicy: 'IfNotPresent' },
    controlPlane: {
      nodeImage: o.images.node.image,
      logLevel: 'info',
      config: { kubernetesRuntime: { imagePullPolicy: 'IfNotPresent', ...o.runtime } },
    },
    auth: { bootstrapToken: token, encryptionKey: randomBytes(32).toString('base64') },
    // Two cores hold the whole cluster: the control plane asks for little and may burst.
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
  };
  const dir = mkdtempSync(join(tmpdir(), 'consortia-platform-'));
  const valuesFile = join(dir, 'values.json');
  writeFileSync(valuesFile, JSON.stringify(values));
  const helm = (args: string[], timeoutMs = 60_000) => runHelm(o.helm, [...args, '--kubeconfig', o.kubeconfigPath], timeoutMs);
  const installed = helm(['install', release, CHART_DIR, '-n', namespace, '--create-namespace', '-f', valuesFile, '--wait', '--timeout', '8m'], 9 * 60_000);
  rmSync(dir, { recursive: true, force: true });
  if (installed.status !== 0) throw new Error(`helm install failed (${installed.status}): ${installed.stderr}`);

  const kc = new KubeConfig();
  kc.loadFromString(o.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const svc = await core.readNamespacedService({ name: release, namespace });
  const port = svc.spec?.ports?.[0]?.port ?? 8080;
  const resolver = new Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([`${o.dns.host}:${o.dns.port}`]);
  return {
    namespace,
    release,
    url: `http://${svc.spec?.clusterIP}:${port}`,
    token,
    core,
    apps,
    hostUrl: async (inCluster) => {
      const u = new URL(inCluster);
      if (/^[0-9.]+$/.test(u.hostname)) return inCluster;
      const [ip] = await resolver.resolve4(u.hostname);
      if (!ip) throw new Error(`cluster DNS has no address for ${u.hostname}`);
      u.hostname = ip;
      return u.toString().replace(/\/$/, '');
    },
    controlPlanePod: async () => {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/instance=${release}` });
      return pods.items.find((p) => !p.metadata?.deletionTimestamp && !p.metadata?.labels?.['helm.sh/chart-test']);
    },
    helm,
    uninstall: () => {
      helm(['uninstall', release, '-n', namespace, '--wait', '--timeout', '3m'], 4 * 60_000);
    },
  };
}

function splitImage(ref: string): [string, string] {
  const at = ref.lastIndexOf(':');
  return at > ref.lastIndexOf('/') ? [ref.slice(0, at), ref.slice(at + 1)] : [ref, 'latest'];
}
