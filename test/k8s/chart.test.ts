import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig, KubernetesObjectApi, loadYaml, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CHART_DIR, renderChart, runHelm, type K8sObject } from '../charts/helm.js';
import { startKubeEnv } from './env/index.js';

// The Helm chart against a real kube-apiserver: helm (built from the Go module proxy) lints
// and renders the chart, and the API server accepts every rendered object in a server-side
// apply dry run (nothing is persisted). ServiceMonitor/PrometheusRule are checked against the
// Prometheus Operator's real CRDs (from its Go module), installed into the test API server.
const RELEASE = 'consortia';
const NAMESPACE = 'consortia-chart-test';
const MONITORING = ['serviceMonitor.enabled=true', 'prometheusRule.enabled=true'];

let helm = '';
let env: Awaited<ReturnType<typeof startKubeEnv>> | undefined;
let objects: KubernetesObjectApi;

beforeAll(async () => {
  // Binaries and helm come from the suite's globalSetup (built or reused once).
  helm = inject('helmTools').helm;
  env = await startKubeEnv({ binaries: inject('kubeBinaries') });
  const kc = new KubeConfig();
  kc.loadFromString(env.kubeconfig);
  objects = KubernetesObjectApi.makeApiClient(kc);
  // Namespaced dry runs need the release namespace to exist (the only object written for real).
  await objects.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }).catch((e: unknown) => {
    if ((e as { code?: number }).code !== 409) throw e;
  });
}, 30 * 60_000);

afterAll(async () => {
  await env?.stop();
}, 120_000);

/** Server-side apply with dryRun=All: the API server defaults, validates and admits, but stores nothing. */
async function dryRunApply(obj: K8sObject): Promise<KubernetesObject> {
  return objects.patch(obj as KubernetesObject, undefined, 'All', 'consortia', true, PatchStrategy.ServerSideApply);
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
    const cur = (await objects.read({ apiVersion: crd.apiVersion, kind: crd.kind, metadata: { name: crd.metadata.name } })) as {
      status?: { conditions?: { type: string; status: string }[] };
    };
    if (cur.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`CRD ${crd.metadata.name} not established in 10 s`);
}

describe('helm chart charts/consortia', () => {
  it('passes helm lint (strict) with default values and with monitoring enabled', () => {
    for (const sets of [[], MONITORING]) {
      const r = runHelm(helm, ['lint', '--strict', CHART_DIR, ...sets.flatMap((s) => ['--set', s])]);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain('0 chart(s) failed');
    }
  });

  it('lint and template reject values that break the schema', () => {
    const r = runHelm(helm, ['template', RELEASE, CHART_DIR, '--set', 'replicaCount=2']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/replicaCount/);
  });

  it('renders the control plane with least-privilege RBAC and a hardened pod', () => {
    const objs = renderChart(helm, RELEASE, NAMESPACE);
    const kinds = objs.map((o) => o.kind).sort();
    expect(kinds).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'ConfigMap', 'ConfigMap', 'Deployment', 'PersistentVolumeClaim', 'Secret', 'Service', 'ServiceAccount']);

    const deploy = objs.find((o) => o.kind === 'Deployment') as any;
    const pod = deploy.spec.template.spec;
    const c = pod.containers[0];
    expect(c.command).toEqual(['node']);
    expect(c.args).toEqual(['dist/control-plane/main.js']);
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.resources.limits).toEqual({ cpu: '1', memory: '512Mi' });
    expect(c.env.map((e: any) => e.name)).toEqual(expect.arrayContaining(['CONSORTIA_BOOTSTRAP_TOKEN', 'CONSORTIA_ENCRYPTION_KEY']));
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'consortia') as any;
    expect(cm.data).toMatchObject({ CONSORTIA_DATA_DIR: '/data', CONSORTIA_LISTEN: '0.0.0.0:8080' });
    expect(pod.volumes.find((v: any) => v.name === 'data').persistentVolumeClaim.claimName).toBe('consortia-data');

    const role = objs.find((o) => o.kind === 'ClusterRole') as any;
    const grants = new Map<string, string[]>();
    for (const r of role.rules) for (const g of r.apiGroups) for (const res of r.resources) grants.set(`${g}/${res}`, [...r.verbs].sort());
    const rw = ['create', 'delete', 'get', 'list', 'patch', 'watch'];
    expect(Object.fromEntries(grants)).toEqual({
      '/namespaces': rw,
      '/services': rw,
      '/configmaps': rw,
      '/secrets': rw,
      '/pods': ['get', 'list', 'watch'],
      '/persistentvolumeclaims': ['delete', 'list'],
      'apps/statefulsets': rw,
      'networking.k8s.io/networkpolicies': rw,
      'policy/poddisruptionbudgets': rw,
      'monitoring.coreos.com/servicemonitors': rw,
      'apiextensions.k8s.io/customresourcedefinitions': ['get'],
    });

    const dashboards = objs.filter((o) => o.metadata.labels?.grafana_dashboard === '1');
    expect(dashboards.map((d) => d.metadata.name).sort()).toEqual(['consortia-dashboard-chain', 'consortia-dashboard-control-plane']);
    for (const d of dashboards) {
      const [file, json] = Object.entries((d as any).data as Record<string, string>)[0]!;
      expect(file).toMatch(/\.json$/);
      expect(JSON.parse(json).uid).toMatch(/^consortia-/);
    }
  });

  it('the API server accepts every rendered object (server-side apply, dry run)', async () => {
    const objs = renderChart(helm, RELEASE, NAMESPACE);
    for (const obj of objs) {
      const accepted = await dryRunApply(obj).catch((e: unknown) => {
        throw new Error(`${obj.kind}/${obj.metadata.name} rejected: ${(e as { body?: unknown }).body ?? e}`);
      });
      expect(accepted.kind).toBe(obj.kind);
      expect(accepted.metadata?.name).toBe(obj.metadata.name);
    }
    // The server really processed them: it defaulted fields the chart leaves out...
    const deploy = objs.find((o) => o.kind === 'Deployment')!;
    const served = (await dryRunApply(deploy)) as any;
    expect(served.spec.template.spec.restartPolicy).toBe('Always');
    expect(served.spec.template.spec.containers[0].terminationMessagePath).toBe('/dev/termination-log');
    // ...and nothing was stored.
    await expect(objects.read({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: deploy.metadata.name, namespace: NAMESPACE } })).rejects.toMatchObject({ code: 404 });
  });

  it('the dry run is a real check: an invalid object is refused', async () => {
    const deploy = structuredClone(renderChart(helm, RELEASE, NAMESPACE).find((o) => o.kind === 'Deployment')!) as any;
    deploy.spec.template.spec.containers[0].ports[0].containerPort = 70000;
    await expect(dryRunApply(deploy)).rejects.toMatchObject({ code: 422 });
  });

  it('with monitoring enabled, ServiceMonitor and PrometheusRule are accepted against the Prometheus Operator CRDs', async () => {
    const crds = inject('helmTools').promOperatorCrds;
    await installCrd(join(crds, 'monitoring.coreos.com_servicemonitors.yaml'));
    await installCrd(join(crds, 'monitoring.coreos.com_prometheusrules.yaml'));
    const objs = renderChart(helm, RELEASE, NAMESPACE, MONITORING);
    const monitoring = objs.filter((o) => o.apiVersion === 'monitoring.coreos.com/v1');
    expect(monitoring.map((o) => o.kind).sort()).toEqual(['PrometheusRule', 'ServiceMonitor']);
    for (const obj of objs) {
      const accepted = await dryRunApply(obj).catch((e: unknown) => {
        throw new Error(`${obj.kind}/${obj.metadata.name} rejected: ${(e as { body?: unknown }).body ?? e}`);
      });
      expect(accepted.metadata?.name).toBe(obj.metadata.name);
    }
    const rule = monitoring.find((o) => o.kind === 'PrometheusRule') as any;
    expect(rule.spec.groups.flatMap((g: any) => g.rules).length).toBeGreaterThan(5);
    // The CRD schema is enforced: a ServiceMonitor endpoint with a scheme outside the CRD's enum is refused.
    const bad = structuredClone(monitoring.find((o) => o.kind === 'ServiceMonitor')) as any;
    bad.spec.endpoints[0].scheme = 'gopher';
    await expect(dryRunApply(bad)).rejects.toMatchObject({ code: 422 });
  });
});
