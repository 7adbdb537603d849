import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { V1StatefulSet } from '@kubernetes/client-node';
import { createCa, type CertificateAuthority } from '../../src/lib/tls-ca.js';
import { startKubeEnv, type KubeEnv } from '../harness/kube-env/index.js';
import { clients, eventually, fakeKubeletPod, validatorSpec, SERVICE_MONITOR_CRD, PatchStrategy } from './helpers.js';
import {
  createKubernetesRuntime,
  nodeObjectNames,
  KubernetesCodes,
  checkCluster,
  type KubernetesRuntime,
} from '../../src/control-plane/runtimes/kubernetes/index.js';
import type { NodeSpec } from '../../src/control-plane/runtimes/runtime.js';

const PREFIX = 'k8st-';
const IMAGE = 'registry.example/consortia-node:1.0.0';

describe('kubernetes runtime against a real kube-apiserver', () => {
  let env: KubeEnv;
  let c: ReturnType<typeof clients>;
  const runtimes: KubernetesRuntime[] = [];
  // One node CA for every runtime of the test, as the control plane keeps one in its data directory across restarts.
  let nodeCa: CertificateAuthority;
  const newRuntime = () => {
    const rt = createKubernetesRuntime({
      nodeCa,
      kubeconfig: env.kubeconfig,
      namespacePrefix: PREFIX,
      image: IMAGE,
      storageClasses: { validator: 'fast-ssd', ordinary: 'standard' },
      storage: { validator: { size: '20Gi' } },
      nodeAccess: 'proxy',
      pvcPolicy: 'delete',
      backoff: { baseMs: 100, maxMs: 2000 },
      nodeApiTimeoutMs: 500,
      crdCheckIntervalMs: 0,
    });
    runtimes.push(rt);
    return rt;
  };
  const validators = (cid: string) => [0, 1, 2, 3].map((i) => validatorSpec(cid, i));
  const ns = (cid: string) => `${PREFIX}${cid}`;
  const readSts = (cid: string, s: NodeSpec) =>
    c.apps.readNamespacedStatefulSet({ name: nodeObjectNames(s.nodeId).statefulSet, namespace: ns(cid) });

  beforeAll(async () => {
    nodeCa = await createCa('test-node-ca');
    env = await startKubeEnv({ binaries: inject('kubeBinaries') });
    c = clients(env.kubeconfig);
    // The "CRD exists" path: ServiceMonitors get created.
    await c.objects.create(SERVICE_MONITOR_CRD);
    await eventually('ServiceMonitor CRD served', async () => {
      const r = await c.objects.list('monitoring.coreos.com/v1', 'ServiceMonitor', 'default').catch(() => undefined);
      return r !== undefined;
    });
  });

  afterAll(async () => {
    for (const rt of runtimes) await rt.close().catch(() => undefined);
    await env?.stop();
  });

  it('checks a cluster on registration: version, or a clear error', async () => {
    const ok = await checkCluster({ kubeconfig: env.kubeconfig });
    expect(ok.gitVersion).toMatch(/^v1\.34\./);
    expect(ok.server).toBe(env.server);
    const badToken = env.kubeconfig.replace(env.token, 'not-a-token');
    await expect(checkCluster({ kubeconfig: badToken })).rejects.toMatchObject({ code: KubernetesCodes.K8S_FORBIDDEN });
    const down = env.kubeconfig.replace(env.server, 'https://127.0.0.1:1');
    await expect(checkCluster({ kubeconfig: down }, 3000)).rejects.toMatchObject({
      code: KubernetesCodes.K8S_CLUSTER_UNREACHABLE,
    });
    await expect(checkCluster({ kubeconfig: 'not: [yaml' })).rejects.toMatchObject({
      code: KubernetesCodes.K8S_INVALID_KUBECONFIG,
    });
  });

  it('applies a consortium of four validators and an ordinary node with the expected objects', async () => {
    const rt = newRuntime();
    const ordinary = validatorSpec('alpha', 9, { nodeId: 'ord-9', role: 'ordinary', tier: { retentionBlocks: 100 } });
    const specs = [...validators('alpha'), ordinary];
    await Promise.all(specs.map((s) => rt.apply(s)));

    const nsObj = await c.core.readNamespace({ name: ns('alpha') });
    expect(nsObj.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('consortia');
    expect(nsObj.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');

    for (const s of specs) {
      const names = nodeObjectNames(s.nodeId);
      const sts = await readSts('alpha', s);
      expect(sts.spec?.replicas).toBe(1);
      const pvc = sts.spec?.volumeClaimTemplates?.[0];
      expect(pvc?.spec?.storageClassName).toBe(s.role === 'validator' ? 'fast-ssd' : 'standard');
      expect(pvc?.spec?.resources?.requests?.['storage']).toBe(s.role === 'validator' ? '20Gi' : '50Gi');
      const ctr = sts.spec?.template.spec?.containers[0];
      expect(ctr?.image).toBe(IMAGE);
      expect(ctr?.securityContext?.readOnlyRootFilesystem).toBe(true);
      expect(ctr?.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(sts.metadata?.labels?.['consortia.io/role']).toBe(s.role);
      expect(sts.metadata?.managedFields?.some((f) => f.manager === 'consortia' && f.operation === 'Apply')).toBe(true);
      const headless = await c.core.readNamespacedService({ name: names.headlessService, namespace: ns('alpha') });
      expect(headless.spec?.clusterIP).toBe('None');
      const client = await c.core.readNamespacedService({ name: names.clientService, namespace: ns('alpha') });
      expect(client.spec?.ports?.[0]?.port).toBe(26657);
      const cm = await c.core.readNamespacedConfigMap({ name: names.configMap, namespace: ns('alpha') });
      const cfg = JSON.parse(cm.data?.['node.json'] ?? '{}') as Record<string, unknown>;
      expect(cfg['role']).toBe(s.role);
      expect(cfg['genesisFile']).toBeUndefined(); // keygen mode: the key is made in the pod
      const sm = await c.objects.read({
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'ServiceMonitor',
        metadata: { name: names.serviceMonitor, namespace: ns('alpha') },
      });
      expect(sm.metadata?.name).toBe(names.serviceMonitor);
    }
    expect(
      JSON.parse(
        (await c.core.readNamespacedConfigMap({ name: nodeObjectNames('ord-9').configMap, namespace: ns('alpha') }))
          .data?.['node.json'] ?? '{}',
      ).retentionBlocks,
    ).toBe(100);
    const pdb = await c.objects.read({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'consortia-validators', namespace: ns('alpha') },
    });
    expect((pdb as { spec?: { maxUnavailable?: number } }).spec?.maxUnavailable).toBe(1); // n=4 -> f=1
    const np = await c.objects.read({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'consortia-nodes', namespace: ns('alpha') },
    });
    expect(JSON.stringify(np)).toContain('"port":26656');
  });

  it('reflects pod status written through the API in node observations', async () => {
    const rt = runtimes[0] as KubernetesRuntime;
    const v0 = validatorSpec('alpha', 0);
    const before = await rt.observe(v0);
    expect(before.phase).toBe('Pending');
    await fakeKubeletPod(c, ns('alpha'), v0, false);
    await eventually('Running, not ready', async () => {
      const o = await rt.observe(v0);
      return o.phase === 'Running' && !o.ready;
    });
    await fakeKubeletPod(c, ns('alpha'), v0, true);
    const obs = await eventually('ready', async () => {
      const o = await rt.observe(v0);
      return o.ready ? o : undefined;
    });
    expect(obs.endpoints?.p2p).toBe(`node-val-0-0.node-val-0-p2p.${ns('alpha')}.svc.cluster.local:26656`);
    expect((await rt.observe({ nodeId: 'nope', consortiumId: 'alpha' })).phase).toBe('Absent');
  });

  it('repairs a deleted Service and an imperatively edited StatefulSet (watch-driven)', async () => {
    const v1 = validatorSpec('alpha', 1);
    const names = nodeObjectNames(v1.nodeId);
    const uid = (await c.core.readNamespacedService({ name: names.clientService, namespace: ns('alpha') })).metadata
      ?.uid;
    await c.core.deleteNamespacedService({ name: names.clientService, namespace: ns('alpha') });
    const back = await eventually('Service re-created', async () =>
      c.core.readNamespacedService({ name: names.clientService, namespace: ns('alpha') }).catch(() => undefined),
    );
    expect(back.metadata?.uid).not.toBe(uid);

    const sts = await readSts('alpha', v1);
    const edited = structuredClone(sts) as V1StatefulSet;
    edited.spec!.template.spec!.containers[0]!.image = 'evil/image:latest';
    await c.apps.replaceNamespacedStatefulSet({
      name: names.statefulSet,
      namespace: ns('alpha'),
      body: edited,
      fieldManager: 'kubectl-edit',
    });
    await eventually(
      'image restored',
      async () => (await readSts('alpha', v1)).spec?.template.spec?.containers[0]?.image === IMAGE,
    );
  });

  it('reports a field conflict with another server-side-apply manager instead of clobbering', async () => {
    const rt = runtimes[0] as KubernetesRuntime;
    const ord = validatorSpec('alpha', 9, { nodeId: 'ord-9', role: 'ordinary', tier: { retentionBlocks: 100 } });
    const names = nodeObjectNames(ord.nodeId);
    await c.objects.patch(
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: names.clientService, namespace: ns('alpha'), labels: { 'consortia.io/role': 'hijacked' } },
      } as never,
      undefined,
      undefined,
      'other-controller',
      true,
      PatchStrategy.ServerSideApply,
    );
    await expect(rt.apply(ord)).rejects.toMatchObject({ code: KubernetesCodes.K8S_APPLY_CONFLICT });
    const svc = await c.core.readNamespacedService({ name: names.clientService, namespace: ns('alpha') });
    expect(svc.metadata?.labels?.['consortia.io/role']).toBe('hijacked'); // theirs, untouched
    expect((await rt.observe(ord)).message ?? '').toContain('K8S_APPLY_CONFLICT');
  });

  it('converges after the control plane is killed mid-apply and restarted', async () => {
    const specs = validators('beta');
    // One control plane per cluster at a time: the restarted one takes over alpha too (restored from its ConfigMaps).
    await (runtimes[0] as KubernetesRuntime).close();
    const rt1 = newRuntime();
    const pending = Promise.allSettled(specs.map((s) => rt1.apply(s)));
    await eventually('first ConfigMap written', async () =>
      c.core
        .readNamespacedConfigMap({ name: nodeObjectNames('val-0').configMap, namespace: ns('beta') })
        .catch(() => undefined),
    );
    await rt1.close(); // "kill": watches and queue stop wherever they are
    await pending;
    const rt2 = newRuntime();
    await rt2.ready();
    expect(rt2.desiredSpecs('beta').length).toBeGreaterThanOrEqual(1); // restored from the cluster
    expect(
      rt2
        .desiredSpecs('alpha')
        .map((s) => s.nodeId)
        .sort(),
    ).toEqual(['ord-9', 'val-0', 'val-1', 'val-2', 'val-3']);
    await rt2.idle();
    await readSts('beta', specs[0]!); // the node whose config was written is completed without any apply call
    // The reconciler re-applies its desired state after a restart: everything converges.
    await Promise.all(specs.map((s) => rt2.apply(s)));
    for (const s of specs)
      expect((await readSts('beta', s)).metadata?.name).toBe(nodeObjectNames(s.nodeId).statefulSet);
    const pdb = await c.objects.read({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'consortia-validators', namespace: ns('beta') },
    });
    expect((pdb as { spec?: { maxUnavailable?: number } }).spec?.maxUnavailable).toBe(1);
  });

  it('upgrades validators one at a time, never below quorum', async () => {
    const rt = runtimes[runtimes.length - 1] as KubernetesRuntime;
    const specs = validators('beta');
    for (const s of specs) await fakeKubeletPod(c, ns('beta'), s, true);
    const NEW = 'registry.example/consortia-node:1.1.0';
    let maxDown = 0;
    let stop = false;
    // Fake kubelet + StatefulSet controller: when a StatefulSet's template carries the new image, replace its pod.
    const kubelet = (async () => {
      while (!stop) {
        let down = 0;
        for (const s of specs) {
          const sts = await readSts('beta', s);
          const pod = await c.core
            .readNamespacedPod({ name: nodeObjectNames(s.nodeId).pod, namespace: ns('beta') })
            .catch(() => undefined);
          if (sts.spec?.template.spec?.containers[0]?.image === NEW && pod?.spec?.containers[0]?.image !== NEW) {
            down++;
            await c.core
              .deleteNamespacedPod({
                name: nodeObjectNames(s.nodeId).pod,
                namespace: ns('beta'),
                gracePeriodSeconds: 0,
              })
              .catch(() => undefined);
            await eventually(
              'old pod gone',
              async () =>
                !(await c.core
                  .readNamespacedPod({ name: nodeObjectNames(s.nodeId).pod, namespace: ns('beta') })
                  .catch(() => undefined)),
            );
            await new Promise((r) => setTimeout(r, 300));
            await fakeKubeletPod(c, ns('beta'), s, true);
          }
        }
        maxDown = Math.max(maxDown, down);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      await rt.upgradeImage('beta', NEW, { readyTimeoutMs: 30_000 });
    } finally {
      stop = true;
      await kubelet;
    }
    expect(maxDown).toBeLessThanOrEqual(1);
    for (const s of specs) expect((await readSts('beta', s)).spec?.template.spec?.containers[0]?.image).toBe(NEW);
  });

  it('deleting the consortium removes every owned object', async () => {
    const rt = runtimes[runtimes.length - 1] as KubernetesRuntime;
    await rt.deleteConsortium('alpha');
    const selector = 'app.kubernetes.io/managed-by=consortia';
    for (const [apiVersion, kind] of [
      ['apps/v1', 'StatefulSet'],
      ['v1', 'Service'],
      ['v1', 'ConfigMap'],
      ['v1', 'Pod'],
      ['v1', 'PersistentVolumeClaim'],
      ['networking.k8s.io/v1', 'NetworkPolicy'],
      ['policy/v1', 'PodDisruptionBudget'],
      ['monitoring.coreos.com/v1', 'ServiceMonitor'],
    ] as const) {
      const list = await c.objects.list(
        apiVersion,
        kind,
        ns('alpha'),
        undefined,
        undefined,
        undefined,
        undefined,
        selector,
      );
      expect(
        list.items.map(
          (i) =>
            `${kind}/${i.metadata?.name} ${JSON.stringify(i.metadata?.finalizers)} ${i.metadata?.deletionTimestamp}`,
        ),
      ).toEqual([]);
    }
    // No namespace controller runs here, so the namespace stays Terminating rather than vanishing.
    const nsObj = await c.core.readNamespace({ name: ns('alpha') }).catch(() => undefined);
    expect(nsObj === undefined || nsObj.metadata?.deletionTimestamp !== undefined).toBe(true);
    expect((await rt.observe(validatorSpec('alpha', 0))).phase).toBe('Absent');
  });
});
