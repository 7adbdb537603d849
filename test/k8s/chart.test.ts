import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseEncryptionKey } from '../../src/control-plane/domain/secret-box.js';
import {
  buildServiceMonitor,
  buildStatefulSet,
  createKubernetesRuntime,
  nodeObjectNames,
  resolveOptions,
  type KubernetesRuntime,
} from '../../src/control-plane/runtimes/kubernetes/index.js';
import { CHART_DIR, REPO_ROOT, renderChart, renderChartValues, runHelm, type K8sObject } from '../harness/helm.js';
import { startKubeEnv } from '../harness/kube-env/index.js';
import { eventually, validatorSpec } from './helpers.js';

// The Helm chart against a real kube-apiserver: helm (built from the Go module proxy) lints
// and renders the chart, and the API server accepts every rendered object in a server-side
// apply dry run (nothing is persisted). ServiceMonitor/PrometheusRule are checked against the
// Prometheus Operator's real CRDs (from its Go module), installed into the test API server.
// The chart's RBAC, admission policy and secret-generating hook are then applied for real and
// exercised with real ServiceAccount tokens, as the pods would use them.
const RELEASE = 'consortia';
const NAMESPACE = 'consortia-chart-test';
const MONITORING = ['serviceMonitor.enabled=true', 'prometheusRule.enabled=true'];
const HEX_KEY = 'c0ffee'.repeat(10) + 'c0ff';
const PROM_LABELS = { release: 'kube-prometheus-stack' };
const TIER_CLASSES = {
  validator: 'consortia-validator',
  super: 'consortia-archive',
  ordinary: 'consortia-standard',
  light: 'consortia-standard',
};

/** Every feature of the chart on, with explicit values (what infra/ passes, and more). */
const ALL_FEATURES = {
  image: {
    repository: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/consortia/prod/control-plane',
    tag: '1.2.3',
    digest: '',
    pullPolicy: 'IfNotPresent',
  },
  imagePullSecrets: ['ecr-pull'],
  controlPlane: {
    port: 8080,
    logLevel: 'debug',
    nodeImage: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/consortia/prod/node:1.2.3',
    config: { kubernetesRuntime: { storageClasses: TIER_CLASSES, pvcPolicy: 'retain' }, reconcileIntervalMs: 500 },
    extraEnv: [{ name: 'CONSORTIA_RATE_LIMIT_MAX', value: '2000' }],
  },
  auth: { existingSecret: '', bootstrapToken: `cst_${'x'.repeat(40)}`, encryptionKey: HEX_KEY },
  service: { type: 'ClusterIP', port: 8080, annotations: { 'example.com/owner': 'platform' } },
  ingress: {
    enabled: true,
    className: 'nginx',
    annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt' },
    host: 'consortia.example.com',
    path: '/',
    tls: { enabled: true, secretName: '' },
  },
  serviceAccount: {
    create: true,
    name: 'consortia-cp',
    annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/consortia' },
  },
  rbac: { create: true, restrictToManagedNamespaces: true },
  persistence: {
    enabled: true,
    storageClass: 'consortia-validator',
    size: '20Gi',
    accessMode: 'ReadWriteOnce',
    existingClaim: '',
  },
  networkPolicy: {
    enabled: true,
    from: [
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
      { ipBlock: { cidr: '10.40.0.0/16' } },
    ],
  },
  podDisruptionBudget: { enabled: true, maxUnavailable: 0 },
  podAnnotations: { 'example.com/scrape': 'yes' },
  podLabels: { team: 'chain' },
  nodeSelector: { 'kubernetes.io/arch': 'amd64' },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'consortia', effect: 'NoSchedule' }],
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] }],
      },
    },
  },
  priorityClassName: 'consortia-critical',
  serviceMonitor: { enabled: true, interval: '15s', scrapeTimeout: '5s', labels: PROM_LABELS },
  prometheusRule: { enabled: true, labels: PROM_LABELS },
  grafanaDashboards: { enabled: true, namespace: 'monitoring', folder: 'Consortia', labels: { team: 'chain' } },
};

let helm = '';
let env: Awaited<ReturnType<typeof startKubeEnv>> | undefined;
let objects: KubernetesObjectApi;
let core: CoreV1Api;
const runtimes: KubernetesRuntime[] = [];

beforeAll(async () => {
  // Binaries and helm come from the suite's globalSetup (built or reused once).
  helm = inject('helmTools').helm;
  env = await startKubeEnv({ binaries: inject('kubeBinaries') });
  const kc = new KubeConfig();
  kc.loadFromString(env.kubeconfig);
  objects = KubernetesObjectApi.makeApiClient(kc);
  core = kc.makeApiClient(CoreV1Api);
  // Namespaced dry runs need their namespaces to exist (the only objects written for real, with the RBAC tests').
  for (const name of [NAMESPACE, 'monitoring']) {
    await objects.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }).catch((e: unknown) => {
      if ((e as { code?: number }).code !== 409) throw e;
    });
  }
}, 30 * 60_000);

afterAll(async () => {
  for (const rt of runtimes) await rt.close().catch(() => undefined);
  await env?.stop();
}, 120_000);

/** Server-side apply with dryRun=All: the API server defaults, validates and admits, but stores nothing. */
async function dryRunApply(obj: K8sObject): Promise<KubernetesObject> {
  return objects.patch(obj as KubernetesObject, undefined, 'All', 'consortia', true, PatchStrategy.ServerSideApply);
}

async function dryRunAll(objs: K8sObject[]): Promise<void> {
  for (const obj of objs) {
    const accepted = await dryRunApply(obj).catch((e: unknown) => {
      throw new Error(`${obj.kind}/${obj.metadata.name} rejected: ${(e as { body?: unknown }).body ?? e}`);
    });
    expect(accepted.kind).toBe(obj.kind);
    expect(accepted.metadata?.name).toBe(obj.metadata.name);
  }
}

async function installCrd(file: string): Promise<void> {
  // loadYaml maps wire names (x-kubernetes-int-or-string) onto the typed model that create() serializes;
  // a plain parse would lose them and the API server would refuse the CRD.
  const crd = loadYaml<K8sObject>(readFileSync(file, 'utf8'));
  await objects.create(crd as KubernetesObject).catch((e: unknown) => {
    if ((e as { code?: number }).code !== 409) throw e;
  });
  // Wait (bounded) until the CRD is Established so that its kind can be served.
  for (let i = 0; i < 100; i++) {
    const cur = (await objects.read({
      apiVersion: crd.apiVersion,
      kind: crd.kind,
      metadata: { name: crd.metadata.name },
    })) as {
      status?: { conditions?: { type: string; status: string }[] };
    };
    if (cur.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`CRD ${crd.metadata.name} not established in 10 s`);
}

async function installMonitoringCrds(): Promise<void> {
  const crds = inject('helmTools').promOperatorCrds;
  await installCrd(join(crds, 'monitoring.coreos.com_servicemonitors.yaml'));
  await installCrd(join(crds, 'monitoring.coreos.com_prometheusrules.yaml'));
}

const find = (objs: K8sObject[], kind: string, name?: string): any => {
  const o = objs.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!o) throw new Error(`no ${kind}${name ? `/${name}` : ''} rendered`);
  return o;
};
const isHook = (o: K8sObject): boolean => o.metadata.annotations?.['helm.sh/hook'] !== undefined;

/** A ServiceAccount token from the API server's TokenRequest API: what a pod of that ServiceAccount holds. */
async function serviceAccountKubeconfig(
  namespace: string,
  name: string,
): Promise<{ kubeconfig: string; token: string }> {
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } }).catch((e: unknown) => {
    if ((e as { code?: number }).code !== 409) throw e;
  });
  const tr = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = tr.status!.token;
  return { kubeconfig: env!.kubeconfig.replace(env!.token, token), token };
}

function objectsAs(kubeconfig: string): KubernetesObjectApi {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig);
  return KubernetesObjectApi.makeApiClient(kc);
}

describe('helm chart charts/consortia', () => {
  it('passes helm lint (strict) with default values, with monitoring enabled and with every feature on', () => {
    const dir = mkdtempSync(join(tmpdir(), 'consortia-lint-'));
    writeFileSync(join(dir, 'all.json'), JSON.stringify(ALL_FEATURES));
    try {
      for (const args of [[], MONITORING.flatMap((s) => ['--set', s]), ['-f', join(dir, 'all.json')]]) {
        const r = runHelm(helm, ['lint', '--strict', CHART_DIR, ...args]);
        expect(r.status, r.stdout + r.stderr).toBe(0);
        expect(r.stdout).toContain('0 chart(s) failed');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lint and template reject values that break the schema', () => {
    for (const [set, msg] of [
      ['replicaCount=2', /replicaCount/],
      ['auth.encryptionKey=not-a-key', /encryptionKey/],
      ['ingress.enabled=true', /host/],
    ] as const) {
      const r = runHelm(helm, ['template', RELEASE, CHART_DIR, '--set', set]);
      expect(r.status, set).not.toBe(0);
      expect(r.stderr).toMatch(msg);
    }
    // The admission policy needs Kubernetes 1.30: an older cluster gets a clear message instead of an unknown kind.
    const old = runHelm(helm, ['template', RELEASE, CHART_DIR, '--kube-version', '1.29.0']);
    expect(old.status).not.toBe(0);
    expect(old.stderr).toMatch(/restrictToManagedNamespaces needs ValidatingAdmissionPolicy/);
    expect(
      runHelm(helm, [
        'template',
        RELEASE,
        CHART_DIR,
        '--kube-version',
        '1.29.0',
        '--set',
        'rbac.restrictToManagedNamespaces=false',
      ]).status,
    ).toBe(0);
  });

  it('renders the control plane with least-privilege RBAC and a hardened pod', () => {
    const objs = renderChart(helm, RELEASE, NAMESPACE);
    expect(
      objs
        .filter((o) => !isHook(o))
        .map((o) => o.kind)
        .sort(),
    ).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'ConfigMap',
      'ConfigMap',
      'ConfigMap',
      'Deployment',
      'NetworkPolicy',
      'PersistentVolumeClaim',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
    ]);
    // No Secret is rendered when nothing is given: the hook generates it (below).
    expect(
      objs
        .filter(isHook)
        .map((o) => `${o.kind}/${o.metadata.annotations!['helm.sh/hook']}`)
        .sort(),
    ).toEqual([
      'Job/pre-install,pre-upgrade',
      'Pod/test',
      'Role/pre-install,pre-upgrade',
      'RoleBinding/pre-install,pre-upgrade',
      'ServiceAccount/pre-install,pre-upgrade',
    ]);

    const deploy = find(objs, 'Deployment');
    const pod = deploy.spec.template.spec;
    const c = pod.containers[0];
    expect(c.command).toEqual(['node']);
    expect(c.args).toEqual(['dist/control-plane/main.js']);
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(c.startupProbe).toMatchObject({
      httpGet: { path: '/healthz', port: 'http' },
      periodSeconds: 5,
      failureThreshold: 60,
    });
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.resources.limits).toEqual({ cpu: '1', memory: '512Mi' });
    const env = Object.fromEntries(
      c.env.filter((e: any) => e.valueFrom?.secretKeyRef).map((e: any) => [e.name, e.valueFrom.secretKeyRef]),
    );
    expect(env).toEqual({
      CONSORTIA_BOOTSTRAP_TOKEN: { name: 'consortia-generated', key: 'bootstrap-token' },
      CONSORTIA_ENCRYPTION_KEY: { name: 'consortia-generated', key: 'encryption-key' },
    });
    const cm = find(objs, 'ConfigMap', 'consortia');
    expect(cm.data).toMatchObject({ CONSORTIA_DATA_DIR: '/data', CONSORTIA_LISTEN: '0.0.0.0:8080' });
    expect(pod.volumes.find((v: any) => v.name === 'data').persistentVolumeClaim.claimName).toBe('consortia-data');

    const role = find(objs, 'ClusterRole');
    const grants = new Map<string, string[]>();
    for (const r of role.rules)
      for (const g of r.apiGroups) for (const res of r.resources) grants.set(`${g}/${res}`, [...r.verbs].sort());
    const rw = ['create', 'delete', 'get', 'list', 'patch', 'watch'];
    expect(Object.fromEntries(grants)).toEqual({
      '/namespaces': ['create', 'delete', 'get', 'list', 'patch'],
      '/services': rw,
      '/configmaps': rw,
      // Written and deleted, never read: no get, list or watch of any Secret.
      '/secrets': ['create', 'delete', 'patch'],
      '/pods': ['delete', 'get', 'list', 'watch'],
      '/persistentvolumeclaims': ['create', 'delete', 'list', 'patch'],
      '/serviceaccounts': ['create', 'patch'],
      'apps/statefulsets': rw,
      'networking.k8s.io/networkpolicies': rw,
      'policy/poddisruptionbudgets': rw,
      'monitoring.coreos.com/servicemonitors': ['create', 'delete', 'get', 'patch'],
    });

    // NetworkPolicy and PDB select exactly the control-plane pod; the hook and test pods carry another component.
    const selector = deploy.spec.selector.matchLabels;
    expect(find(objs, 'NetworkPolicy').spec.podSelector.matchLabels).toEqual(selector);
    expect(find(objs, 'NetworkPolicy').spec.ingress).toEqual([
      { from: [{ podSelector: {} }], ports: [{ port: 'http', protocol: 'TCP' }] },
    ]);
    expect(find(objs, 'PodDisruptionBudget').spec).toEqual({
      maxUnavailable: 1,
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
      selector: { matchLabels: selector },
    });
    for (const o of objs.filter((x) => x.kind === 'Pod' || x.kind === 'Job')) {
      const labels = o.kind === 'Job' ? (o as any).spec.template.metadata.labels : o.metadata.labels;
      expect(
        Object.entries(selector).every(([k, v]) => labels[k] === v),
        `${o.kind}/${o.metadata.name} would be selected as the control plane`,
      ).toBe(false);
    }
    expect(find(objs, 'Pod').metadata.labels['helm.sh/chart-test']).toBe('true');

    const dashboards = objs.filter((o) => o.metadata.labels?.grafana_dashboard === '1');
    expect(dashboards.map((d) => d.metadata.name).sort()).toEqual([
      'consortia-dashboard-chain',
      'consortia-dashboard-control-plane',
    ]);
    for (const d of dashboards) {
      const [file, json] = Object.entries((d as any).data as Record<string, string>)[0]!;
      expect(file).toMatch(/\.json$/);
      expect(JSON.parse(json).uid).toMatch(/^consortia-/);
    }
  });

  it('the API server accepts every rendered object (server-side apply, dry run)', async () => {
    const objs = renderChart(helm, RELEASE, NAMESPACE);
    await dryRunAll(objs);
    // The server really processed them: it defaulted fields the chart leaves out...
    const deploy = objs.find((o) => o.kind === 'Deployment')!;
    const served = (await dryRunApply(deploy)) as any;
    expect(served.spec.template.spec.restartPolicy).toBe('Always');
    expect(served.spec.template.spec.containers[0].terminationMessagePath).toBe('/dev/termination-log');
    // ...and nothing was stored.
    await expect(
      objects.read({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: deploy.metadata.name, namespace: NAMESPACE },
      }),
    ).rejects.toMatchObject({ code: 404 });
  });

  it('the dry run is a real check: an invalid object is refused', async () => {
    const deploy = structuredClone(renderChart(helm, RELEASE, NAMESPACE).find((o) => o.kind === 'Deployment')!) as any;
    deploy.spec.template.spec.containers[0].ports[0].containerPort = 70000;
    await expect(dryRunApply(deploy)).rejects.toMatchObject({ code: 422 });
  });

  it('with monitoring enabled, ServiceMonitor and PrometheusRule are accepted against the Prometheus Operator CRDs', async () => {
    await installMonitoringCrds();
    const objs = renderChart(helm, RELEASE, NAMESPACE, MONITORING);
    const monitoring = objs.filter((o) => o.apiVersion === 'monitoring.coreos.com/v1');
    expect(monitoring.map((o) => o.kind).sort()).toEqual(['PrometheusRule', 'ServiceMonitor']);
    await dryRunAll(objs);
    const rule = monitoring.find((o) => o.kind === 'PrometheusRule') as any;
    expect(rule.spec.groups.flatMap((g: any) => g.rules).length).toBeGreaterThan(5);
    // The CRD schema is enforced: a ServiceMonitor endpoint with a scheme outside the CRD's enum is refused.
    const bad = structuredClone(monitoring.find((o) => o.kind === 'ServiceMonitor')) as any;
    bad.spec.endpoints[0].scheme = 'gopher';
    await expect(dryRunApply(bad)).rejects.toMatchObject({ code: 422 });
  });

  it('with every feature on, every object is accepted by the API server and wired as configured', async () => {
    await installMonitoringCrds();
    const { objects: objs } = renderChartValues(helm, RELEASE, NAMESPACE, ALL_FEATURES);
    expect(objs.map((o) => o.kind)).toEqual(
      expect.arrayContaining([
        'Ingress',
        'NetworkPolicy',
        'PodDisruptionBudget',
        'ServiceMonitor',
        'PrometheusRule',
        'Secret',
        'ValidatingAdmissionPolicy',
      ]),
    );
    // Both auth values given: the Secret is rendered from them and no hook generates anything.
    expect(objs.filter((o) => o.kind === 'Job')).toHaveLength(0);
    const secret = find(objs, 'Secret', 'consortia');
    expect(Buffer.from(secret.data['encryption-key'], 'base64').toString()).toBe(HEX_KEY);
    await dryRunAll(objs);

    const ing = find(objs, 'Ingress');
    expect(ing.spec).toMatchObject({
      ingressClassName: 'nginx',
      tls: [{ hosts: ['consortia.example.com'], secretName: 'consortia-tls' }],
    });
    expect(ing.spec.rules[0].http.paths[0].backend.service).toEqual({ name: 'consortia', port: { name: 'http' } });
    expect(find(objs, 'NetworkPolicy').spec.ingress[0].from).toEqual([
      { podSelector: {} },
      ...ALL_FEATURES.networkPolicy.from,
    ]);
    expect(find(objs, 'PodDisruptionBudget').spec.maxUnavailable).toBe(0);
    expect(find(objs, 'ServiceMonitor').metadata.labels).toMatchObject(PROM_LABELS);
    expect(find(objs, 'PrometheusRule').metadata.labels).toMatchObject(PROM_LABELS);
    expect(
      objs
        .filter((o) => o.metadata.labels?.grafana_dashboard === '1')
        .every((o) => o.metadata.namespace === 'monitoring'),
    ).toBe(true);
    expect(find(objs, 'ValidatingAdmissionPolicy').spec.matchConditions[0].expression).toBe(
      `request.userInfo.username == "system:serviceaccount:${NAMESPACE}:consortia-cp"`,
    );

    // storageClassName for every PVC: the control plane's own...
    expect(find(objs, 'PersistentVolumeClaim').spec.storageClassName).toBe('consortia-validator');
    // ...and the chain nodes', through the runtime's options read from the rendered config file, as the control plane reads it.
    const deploy = find(objs, 'Deployment');
    expect(deploy.spec.template.spec.containers[0].args).toEqual([
      'dist/control-plane/main.js',
      '--config',
      '/etc/consortia/config.yaml',
    ]);
    const config = parseYaml(find(objs, 'ConfigMap', 'consortia-file').data['config.yaml']);
    expect(config.kubernetesRuntime).toEqual({
      storageClasses: TIER_CLASSES,
      pvcPolicy: 'retain',
      serviceMonitorLabels: PROM_LABELS,
    });
    const opts = resolveOptions(config.kubernetesRuntime);
    const tls = { cert: 'cert', key: 'key', ca: 'ca', digest: 'digest' };
    const ctx = { opts, namespace: 'consortia-c1', serviceMonitorAvailable: true, tls };
    for (const [role, cls] of Object.entries(TIER_CLASSES)) {
      const sts = buildStatefulSet(validatorSpec('c1', 1, { role: role as never }), ctx) as any;
      expect(sts.spec.volumeClaimTemplates[0].spec.storageClassName, role).toBe(cls);
    }
    // serviceMonitor.labels also reach the ServiceMonitors the runtime creates for chain nodes.
    const nodeMonitor = buildServiceMonitor(validatorSpec('c1', 1), ctx) as any;
    expect(nodeMonitor.metadata.labels).toMatchObject({ ...PROM_LABELS, 'app.kubernetes.io/managed-by': 'consortia' });
    await objects
      .create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'consortia-c1' } })
      .catch(() => undefined);
    await dryRunApply(nodeMonitor);
  });

  it('renders byte-identical output on every run (nothing generated in a template; GitOps-safe)', () => {
    const render = (values: Record<string, unknown>) => renderChartValues(helm, RELEASE, NAMESPACE, values).text;
    for (const values of [{}, ALL_FEATURES, { auth: { encryptionKey: HEX_KEY } }]) {
      const first = render(values);
      expect(render(values)).toBe(first);
      expect(first.length).toBeGreaterThan(1000);
    }
  });

  it('takes the README install command word for word (a hex key from openssl rand -hex 32)', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Deploy on Kubernetes (Helm)'));
    const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!.replace(/\\\n\s*/g, ' ');
    const install = block.split('\n').find((l) => l.startsWith('helm install '))!;
    expect(install).toContain('auth.encryptionKey=$(openssl rand -hex 32)');
    // Run it through a shell as written (placeholders filled in), with `helm template` for `helm install`.
    const cmd = install
      .replace(/^helm install /, '"$HELM" template ')
      .replaceAll('<registry>', '123456789012.dkr.ecr.eu-west-1.amazonaws.com/consortia/dev')
      .replaceAll('<version>', '0.1.0');
    const r = spawnSync('bash', ['-c', cmd], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, HELM: helm } });
    expect(r.status, r.stderr).toBe(0);
    const objs = parseYaml(
      `[${r.stdout
        .split(/^---$/m)
        .filter((d) => d.trim())
        .map((d) => JSON.stringify(parseYaml(d)))
        .join(',')}]`,
    ) as K8sObject[];
    const key = Buffer.from(find(objs, 'Secret').data['encryption-key'], 'base64').toString();
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(parseEncryptionKey(key)).toHaveLength(32);
  });
});

describe('the chart RBAC and admission policy, with the control plane ServiceAccount token', () => {
  const MANAGED = 'consortia-managed-test';
  const OTHER = 'someone-else';
  let sa: KubernetesObjectApi;
  let saKubeconfig = '';
  const denied = async (p: Promise<unknown>, status: number, message?: RegExp): Promise<string> => {
    const err = (await p.then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: number; body?: unknown } | undefined;
    expect(err, 'expected a refusal').toBeDefined();
    expect(err!.code).toBe(status);
    const body = typeof err!.body === 'string' ? err!.body : JSON.stringify(err!.body);
    if (message) expect(body).toMatch(message);
    return body;
  };

  beforeAll(async () => {
    await installMonitoringCrds();
    const objs = renderChart(helm, RELEASE, NAMESPACE);
    for (const kind of [
      'ClusterRole',
      'ClusterRoleBinding',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
    ]) {
      await objects.create(find(objs, kind) as KubernetesObject).catch((e: unknown) => {
        if ((e as { code?: number }).code !== 409) throw e;
      });
    }
    ({ kubeconfig: saKubeconfig } = await serviceAccountKubeconfig(NAMESPACE, 'consortia'));
    sa = objectsAs(saKubeconfig);
    await objects.create({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: MANAGED, labels: { 'app.kubernetes.io/managed-by': 'consortia' } },
    });
    await objects.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: OTHER } });
    await objects.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'theirs', namespace: OTHER },
      stringData: { password: 'hunter2' },
    } as KubernetesObject);
    // The policy is enforced once the API server has loaded it (asynchronously).
    await eventually(
      'admission policy enforced',
      async () => {
        const r = await sa
          .create(
            { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'probe', namespace: OTHER } },
            undefined,
            'All',
          )
          .then(
            () => 'allowed',
            () => 'denied',
          );
        return r === 'denied';
      },
      30_000,
    );
  }, 120_000);

  it('never lets the control plane read a Secret, anywhere', async () => {
    await sa.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'node-x-admin', namespace: MANAGED },
      stringData: { 'admin-token': 'cna_x' },
    } as KubernetesObject);
    await denied(
      sa.read({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'node-x-admin', namespace: MANAGED } }),
      403,
    );
    await denied(sa.list('v1', 'Secret', MANAGED), 403);
    await denied(sa.list('v1', 'Secret'), 403);
    await denied(sa.read({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'theirs', namespace: OTHER } }), 403);
  });

  it('confines its writes to the namespaces it manages: no Secret written, patched (and so read back) or deleted elsewhere', async () => {
    const msg = /writes only in the consortium namespaces/;
    await denied(
      sa.create({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'planted', namespace: OTHER },
        stringData: { a: 'b' },
      } as KubernetesObject),
      403,
      msg,
    );
    // A patch answers with the whole object: refused before any answer, so it cannot be used to read a Secret.
    const body = await denied(
      sa.patch(
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'theirs', namespace: OTHER } } as KubernetesObject,
        undefined,
        undefined,
        'consortia',
        true,
        PatchStrategy.ServerSideApply,
      ),
      403,
      msg,
    );
    expect(body).not.toContain(Buffer.from('hunter2').toString('base64'));
    await denied(
      sa.delete({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'theirs', namespace: OTHER } }),
      403,
      msg,
    );
    await denied(
      sa.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'kube-system' } }),
      403,
      msg,
    );
    // In its own namespaces it may write what the runtime writes.
    await sa.patch(
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'node-x-admin', namespace: MANAGED },
        stringData: { 'admin-token': 'cna_y' },
      } as KubernetesObject,
      undefined,
      undefined,
      'consortia',
      true,
      PatchStrategy.ServerSideApply,
    );
    await sa.delete({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'node-x-admin', namespace: MANAGED } });
    await sa.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: MANAGED } });
  });

  it('may create and delete consortium namespaces, but never claim or delete a namespace it did not create', async () => {
    const msg = /only namespaces labelled app.kubernetes.io\/managed-by=consortia/;
    await denied(
      sa.patch(
        {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: OTHER, labels: { 'app.kubernetes.io/managed-by': 'consortia' } },
        },
        undefined,
        undefined,
        'consortia',
        true,
        PatchStrategy.ServerSideApply,
      ),
      403,
      msg,
    );
    await denied(sa.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: OTHER } }), 403, msg);
    await denied(sa.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'unlabelled' } }), 403, msg);
    await sa.create({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'consortia-new', labels: { 'app.kubernetes.io/managed-by': 'consortia' } },
    });
    await sa.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'consortia-new' } });
  });

  it('is enough for the kubernetes runtime to provision and delete a node (its own code, this token)', async () => {
    const labels = { release: 'kube-prometheus-stack' };
    const rt = createKubernetesRuntime({
      kubeconfig: saKubeconfig,
      namespacePrefix: 'rbac-',
      image: 'registry.example/consortia-node:1.0.0',
      storageClasses: TIER_CLASSES,
      nodeAccess: 'proxy',
      pvcPolicy: 'delete',
      backoff: { baseMs: 100, maxMs: 1000 },
      crdCheckIntervalMs: 0,
      serviceMonitorLabels: labels,
    });
    runtimes.push(rt);
    await rt.ready();
    const spec = validatorSpec('rbac', 1, { adminToken: `cna_${'a'.repeat(43)}` } as never);
    await rt.apply(spec);
    const ns = 'rbac-rbac';
    const names = nodeObjectNames(spec.nodeId);
    const nsObj = (await objects.read({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns },
    })) as KubernetesObject;
    expect(nsObj.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('consortia');
    // Every object of the node, the per-node admin Secret included (written, never read, by the control plane).
    const own: [string, string, string][] = [
      ['apps/v1', 'StatefulSet', names.statefulSet],
      ['v1', 'ConfigMap', names.configMap],
      ['v1', 'Service', names.clientService],
    ];
    const adminSecret = (names as Record<string, string>)['adminSecret'];
    if (adminSecret) own.push(['v1', 'Secret', adminSecret]);
    for (const [apiVersion, kind, name] of own)
      await objects.read({ apiVersion, kind, metadata: { name, namespace: ns } });
    const monitor = (await objects.read({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: names.serviceMonitor, namespace: ns },
    })) as KubernetesObject;
    expect(monitor.metadata?.labels).toMatchObject(labels);
    await rt.delete(spec);
    await expect(
      objects.read({
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: names.statefulSet, namespace: ns },
      }),
    ).rejects.toMatchObject({ code: 404 });
    await expect(
      objects.read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: names.configMap, namespace: ns } }),
    ).rejects.toMatchObject({ code: 404 });
    if (adminSecret)
      await expect(
        objects.read({ apiVersion: 'v1', kind: 'Secret', metadata: { name: adminSecret, namespace: ns } }),
      ).rejects.toMatchObject({ code: 404 });
    // The namespace is being deleted (no namespace controller runs here to finish it).
    const gone = (await objects
      .read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } })
      .catch(() => undefined)) as KubernetesObject | undefined;
    expect(gone === undefined || gone.metadata?.deletionTimestamp !== undefined).toBe(true);
  });
});

describe('the secret-generating hook, run as its Job runs it', () => {
  let job: any;
  let script = '';
  let dir = '';

  beforeAll(async () => {
    const objs = renderChart(helm, RELEASE, NAMESPACE);
    job = find(objs, 'Job');
    script = job.spec.template.spec.containers[0].args[0];
    for (const kind of ['Role', 'RoleBinding']) {
      await objects.create(find(objs, kind) as KubernetesObject).catch((e: unknown) => {
        if ((e as { code?: number }).code !== 409) throw e;
      });
    }
    const { token } = await serviceAccountKubeconfig(NAMESPACE, job.spec.template.spec.serviceAccountName);
    dir = mkdtempSync(join(tmpdir(), 'consortia-sa-'));
    writeFileSync(join(dir, 'token'), token);
    writeFileSync(join(dir, 'ca.crt'), readFileSync(env!.caCert));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** `node -e <the Job's script>` with the Job's env, the API server of this test and a real token of the hook's ServiceAccount. */
  function runHook(): string {
    const e = Object.fromEntries(
      job.spec.template.spec.containers[0].env
        .filter((x: any) => x.value !== undefined)
        .map((x: any) => [x.name, x.value]),
    );
    const url = new URL(env!.server);
    return execFileSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        PATH: process.env.PATH,
        ...e,
        NAMESPACE,
        SA_DIR: dir,
        KUBERNETES_SERVICE_HOST: url.hostname,
        KUBERNETES_SERVICE_PORT: url.port,
      },
    });
  }
  const readGenerated = async () =>
    (await core.readNamespacedSecret({ name: 'consortia-generated', namespace: NAMESPACE })).data ?? {};

  it('creates the Secret once with both values, and never changes them afterwards', async () => {
    expect(runHook()).toMatch(
      /created Secret consortia-chart-test\/consortia-generated with bootstrap-token, encryption-key/,
    );
    const first = await readGenerated();
    const key = Buffer.from(first['encryption-key']!, 'base64').toString();
    expect(parseEncryptionKey(key)).toHaveLength(32);
    expect(Buffer.from(first['bootstrap-token']!, 'base64').toString()).toMatch(/^cst_[A-Za-z0-9_-]{40}$/);
    expect(runHook()).toMatch(/already has every key; nothing changed/);
    expect(await readGenerated()).toEqual(first);
  });

  it('adds only a key that is missing', async () => {
    const before = await readGenerated();
    const cur = await core.readNamespacedSecret({ name: 'consortia-generated', namespace: NAMESPACE });
    delete cur.data!['bootstrap-token'];
    await core.replaceNamespacedSecret({ name: 'consortia-generated', namespace: NAMESPACE, body: cur });
    expect(Object.keys(await readGenerated())).toEqual(['encryption-key']);
    expect(runHook()).toMatch(/added bootstrap-token/);
    const after = await readGenerated();
    expect(after['encryption-key']).toBe(before['encryption-key']);
    expect(after['bootstrap-token']).toBeDefined();
  });

  it('its ServiceAccount can read no other Secret', async () => {
    const hook = objectsAs(env!.kubeconfig.replace(env!.token, readFileSync(join(dir, 'token'), 'utf8')));
    await core
      .createNamespacedSecret({
        namespace: NAMESPACE,
        body: { metadata: { name: 'unrelated' }, stringData: { a: 'b' } },
      })
      .catch(() => undefined);
    await expect(
      hook.read({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'unrelated', namespace: NAMESPACE } }),
    ).rejects.toMatchObject({ code: 403 });
    await expect(hook.list('v1', 'Secret', NAMESPACE)).rejects.toMatchObject({ code: 403 });
  });
});
