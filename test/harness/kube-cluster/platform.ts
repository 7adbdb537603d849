/**
 * The platform as a cloud admin installs it: charts/consortia with our control-plane image,
 * into the real cluster, then used only through its REST API over HTTPS. Shared by the cluster
 * suite and bench/provision.ts (--runtime kubernetes).
 */
import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { Agent, fetch, type Dispatcher } from 'undici';
import { createCa, issueServerCert } from '../../../src/lib/tls-ca.js';
import { CHART_DIR, runHelm } from '../helm.js';
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
  /** More control-plane configuration (chart value controlPlane.config), e.g. keyProviders. */
  config?: Record<string, unknown>;
  /** Secrets created in the release namespace before the install (name -> key -> value), for controlPlane.extraEnv. */
  secrets?: Record<string, Record<string, string>>;
  /** Chart value controlPlane.extraEnv. */
  extraEnv?: Record<string, unknown>[];
}

export interface Platform {
  namespace: string;
  release: string;
  /** https:// base URL of the control plane through its Service (reached from this host by kube-proxy's rules). */
  url: string;
  /**
   * Trusts the control plane's certificate: the CA installPlatform made, the Service's in-cluster
   * name checked (the URL holds its address). Pass it to undici's fetch, client() and createOrg().
   */
  dispatcher: Dispatcher;
  /** PEM CA that signed the control plane's certificate (Secret `<release>-api-tls`). */
  caCertificate: string;
  token: string;
  core: CoreV1Api;
  apps: AppsV1Api;
  /** In-cluster URL (https://svc.ns.svc.cluster.local:port) -> the same URL with the Service's address. */
  hostUrl(inCluster: string): Promise<string>;
  /**
   * Trusts the chain nodes' certificates (node CA from GET /v1/platform/node-ca). From this host,
   * nodes are reached by address (Service or pod IP, no cluster DNS name in the URL), so the name in
   * the certificate is not checked here: "signed by the node CA" stands in for it (the names are
   * checked by test/control-plane/runtimes/kubernetes/node-tls.test.ts and by the control plane, which
   * calls nodes by name).
   */
  nodeDispatcher(): Promise<Dispatcher>;
  controlPlanePod(): Promise<V1Pod | undefined>;
  helm(args: string[], timeoutMs?: number): { status: number; stdout: string; stderr: string };
  uninstall(): void;
}

export async function installPlatform(o: PlatformOptions): Promise<Platform> {
  const namespace = o.namespace ?? 'consortia';
  const release = o.release ?? 'consortia';
  const token = `cst_${randomBytes(24).toString('hex')}`;
  const [repo, tag] = splitImage(o.images.controlPlane.image);
  const kc = new KubeConfig();
  kc.loadFromString(o.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  // The API certificate, as an operator brings one: a kubernetes.io/tls Secret (chart value tls.existingSecret).
  const apiCa = await createCa('consortia-test-api-ca');
  const serverName = `${release}.${namespace}.svc`;
  const apiCert = await issueServerCert(apiCa, [
    serverName,
    `${serverName}.cluster.local`,
    release,
    `${release}.${namespace}`,
  ]);
  const tlsSecret = `${release}-api-tls`;
  await core.createNamespace({ body: { metadata: { name: namespace } } }).catch((err: { code?: number }) => {
    if (err.code !== 409) throw err;
  });
  const b64 = (t: string) => Buffer.from(t).toString('base64');
  await core.createNamespacedSecret({
    namespace,
    body: {
      metadata: { name: tlsSecret },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': b64(apiCert.cert), 'tls.key': b64(apiCert.key), 'ca.crt': b64(apiCa.cert) },
    },
  });
  for (const [name, data] of Object.entries(o.secrets ?? {}))
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name },
        type: 'Opaque',
        data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
      },
    });
  const values = {
    image: { repository: repo, tag, pullPolicy: 'IfNotPresent' },
    controlPlane: {
      nodeImage: o.images.node.image,
      logLevel: 'info',
      config: { kubernetesRuntime: { imagePullPolicy: 'IfNotPresent', ...o.runtime }, ...o.config },
      extraEnv: o.extraEnv ?? [],
    },
    auth: { bootstrapToken: token, encryptionKey: randomBytes(32).toString('base64') },
    tls: { existingSecret: tlsSecret },
    // Two cores hold the whole cluster: the control plane asks for little and may burst.
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
  };
  const dir = mkdtempSync(join(tmpdir(), 'consortia-platform-'));
  const valuesFile = join(dir, 'values.json');
  writeFileSync(valuesFile, JSON.stringify(values));
  const helm = (args: string[], timeoutMs = 60_000) =>
    runHelm(o.helm, [...args, '--kubeconfig', o.kubeconfigPath], timeoutMs);
  const installed = helm(
    [
      'install',
      release,
      CHART_DIR,
      '-n',
      namespace,
      '--create-namespace',
      '-f',
      valuesFile,
      '--wait',
      '--timeout',
      '8m',
    ],
    9 * 60_000,
  );
  rmSync(dir, { recursive: true, force: true });
  if (installed.status !== 0) throw new Error(`helm install failed (${installed.status}): ${installed.stderr}`);

  const svc = await core.readNamespacedService({ name: release, namespace });
  const port = svc.spec?.ports?.[0]?.port ?? 8080;
  const resolver = new Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([`${o.dns.host}:${o.dns.port}`]);
  const url = `https://${svc.spec?.clusterIP}:${port}`;
  const dispatcher = new Agent({ connect: { ca: apiCa.cert, servername: serverName } });
  let nodes: Promise<Dispatcher> | undefined;
  return {
    namespace,
    release,
    url,
    dispatcher,
    caCertificate: apiCa.cert,
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
    nodeDispatcher: () => {
      nodes ??= (async () => {
        const r = await fetch(`${url}/v1/platform/node-ca`, {
          headers: { authorization: `Bearer ${token}` },
          dispatcher,
          signal: AbortSignal.timeout(20_000),
        });
        if (r.status !== 200) throw new Error(`GET /v1/platform/node-ca: HTTP ${r.status} ${await r.text()}`);
        const { caCertificate } = (await r.json()) as { caCertificate: string };
        return new Agent({ connect: { ca: caCertificate, checkServerIdentity: () => undefined } });
      })();
      nodes.catch(() => {
        nodes = undefined;
      });
      return nodes;
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
