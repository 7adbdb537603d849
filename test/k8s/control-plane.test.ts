/**
 * The control plane driving the kubernetes runtime, only through its REST API, against a real
 * kube-apiserver + etcd: cluster registration, a consortium of four validators applied as
 * objects, pod status reflected in node status, drift repair, SIGKILL mid-apply + restart, and
 * consortium deletion. No kubelet runs here, so the test writes Pod status itself.
 */
import { randomBytes } from 'node:crypto';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LABEL, namespaceName, nodeObjectNames } from '../../src/control-plane/runtimes/kubernetes/index.js';
import type { NodeSpec } from '../../src/control-plane/runtimes/runtime.js';
import { startControlPlane, type ControlPlane } from '../harness/cp-harness.js';
import { client, createOrg, waitFor, type Call, type OrgHandle } from '../harness/cp-api.js';
import { startKubeEnv, type KubeEnv } from '../harness/kube-env/index.js';
import { clients, eventually, fakeKubeletPod } from './helpers.js';

const PREFIX = 'cpt-';
const IMAGE = 'registry.example/consortia-node:2.0.0';

interface ApiNode {
  id: string;
  orgId: string;
  role: NodeSpec['role'];
  consortiumId: string;
  status: { phase: string; ready: boolean; endpoints?: { api: string; p2p: string } };
}

describe('control plane REST API with the kubernetes runtime (real kube-apiserver)', () => {
  let env: KubeEnv;
  let k: ReturnType<typeof clients>;
  let cp: ControlPlane;
  let admin: Call;
  let a: OrgHandle;
  let b: OrgHandle;
  let clusterId = '';
  let cid = '';
  let nodes: ApiNode[] = [];
  const ns = (consortiumId: string) => namespaceName(PREFIX, consortiumId);
  const specOf = (n: ApiNode) =>
    ({ nodeId: n.id, consortiumId: n.consortiumId, orgId: n.orgId, role: n.role }) as NodeSpec;

  async function createConsortiumWithValidators(name: string): Promise<{ id: string; nodes: ApiNode[] }> {
    const created = await a.call('POST', '/v1/consortia', {
      name,
      founders: [a.id, b.id],
      params: { blockIntervalMs: 500, maxBlockBytes: 1 << 20 },
      votingPolicy: { thresholdPercentage: 50, thresholdComparator: 'GREATER_THAN', proposalDurationSeconds: 3600 },
    });
    expect(created.status).toBe(201);
    const out: ApiNode[] = [];
    for (const org of [a, a, b, b]) {
      const r = await org.call('POST', `/v1/consortia/${created.body.id}/nodes`, {
        orgId: org.id,
        role: 'validator',
        clusterId,
        resources: { cpu: '250m', memory: '256Mi' },
      });
      expect(r.status).toBe(202);
      out.push(r.body as ApiNode);
    }
    return { id: created.body.id as string, nodes: out };
  }

  beforeAll(async () => {
    env = await startKubeEnv({ binaries: inject('kubeBinaries') });
    k = clients(env.kubeconfig);
    cp = await startControlPlane({
      reconcileIntervalMs: 300,
      config: {
        encryptionKey: randomBytes(32).toString('hex'),
        nodeImage: IMAGE,
        kubernetesRuntime: {
          namespacePrefix: PREFIX,
          nodeAccess: 'proxy',
          pvcPolicy: 'delete',
          crdCheckIntervalMs: 0,
          nodeApiTimeoutMs: 500,
          storageClasses: { validator: 'fast-ssd' },
          storage: { validator: { size: '20Gi' } },
          backoff: { baseMs: 100, maxMs: 2000 },
        },
      },
    });
    admin = client(cp.url, cp.token);
    a = await createOrg(admin, cp.url, 'acme');
    b = await createOrg(admin, cp.url, 'globex');
  });

  afterAll(async () => {
    await cp?.shutdown();
    await env?.stop();
  });

  it('registers the cluster after checking it; a bad kubeconfig is refused and nothing is stored', async () => {
    const bad = await admin('POST', '/v1/clusters', {
      name: 'down',
      kind: 'kubernetes',
      kubeconfig: env.kubeconfig.replace(env.server, 'https://127.0.0.1:1'),
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('CLUSTER_UNREACHABLE');
    const byOrg = await a.call('POST', '/v1/clusters', {
      name: 'mine',
      kind: 'kubernetes',
      kubeconfig: env.kubeconfig,
    });
    expect(byOrg.status).toBe(403);
    const before = await admin('GET', '/v1/clusters');
    expect(before.body.items.map((c: { name: string }) => c.name)).not.toContain('down');

    const ok = await admin('POST', '/v1/clusters', {
      name: 'test-apiserver',
      kind: 'kubernetes',
      kubeconfig: env.kubeconfig,
    });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ kind: 'kubernetes', status: 'Ready', hasKubeconfig: true });
    expect(ok.body.serverVersion).toMatch(/^v1\.34\./);
    expect(JSON.stringify(ok.body)).not.toContain(env.token); // credentials never come back
    clusterId = ok.body.id;
  });

  it('spans one consortium over two clusters, each with its own runtime settings', async () => {
    const badOptions = await admin('POST', '/v1/clusters', {
      name: 'eu',
      kind: 'kubernetes',
      kubeconfig: env.kubeconfig,
      runtimeOptions: { p2pAdvertiseTemplate: 'no port here' },
    });
    expect(badOptions.status).toBe(400);
    expect(JSON.stringify(badOptions.body.error)).toContain('p2pAdvertiseTemplate');
    // A second cluster (here: the same API server under another namespace prefix, as a member's cloud would be).
    const eu = await admin('POST', '/v1/clusters', {
      name: 'eu',
      kind: 'kubernetes',
      kubeconfig: env.kubeconfig,
      runtimeOptions: {
        namespacePrefix: 'eu-',
        p2pAdvertiseTemplate: '{node}.p2p.eu.example.com:443',
        p2pAllowedCidrs: ['198.51.100.0/24'],
        storageClasses: { validator: 'eu-ssd' },
      },
    });
    expect(eu.status).toBe(201);
    expect(eu.body.runtimeOptions.namespacePrefix).toBe('eu-');
    const gamma = await a.call('POST', '/v1/consortia', {
      name: 'gamma',
      founders: [a.id, b.id],
      params: { blockIntervalMs: 500, maxBlockBytes: 1 << 20 },
      votingPolicy: { thresholdPercentage: 50, thresholdComparator: 'GREATER_THAN', proposalDurationSeconds: 3600 },
    });
    const home = (
      await a.call('POST', `/v1/consortia/${gamma.body.id}/nodes`, { orgId: a.id, role: 'validator', clusterId })
    ).body as ApiNode;
    const away = (
      await b.call('POST', `/v1/consortia/${gamma.body.id}/nodes`, {
        orgId: b.id,
        role: 'validator',
        clusterId: eu.body.id,
      })
    ).body as ApiNode;
    const euNs = namespaceName('eu-', gamma.body.id);
    const euSts = await eventually(
      'StatefulSet in the eu cluster',
      () =>
        k.apps
          .readNamespacedStatefulSet({ name: nodeObjectNames(away.id).statefulSet, namespace: euNs })
          .catch(() => undefined),
      60_000,
    );
    expect(euSts.spec?.volumeClaimTemplates?.[0]?.spec?.storageClassName).toBe('eu-ssd');
    const cm = await eventually('eu ConfigMap', () =>
      k.core
        .readNamespacedConfigMap({ name: nodeObjectNames(away.id).configMap, namespace: euNs })
        .catch(() => undefined),
    );
    expect(JSON.parse(cm.data?.['node.json'] ?? '{}').p2pAdvertise).toBe(
      `${nodeObjectNames(away.id).statefulSet}.p2p.eu.example.com:443`,
    );
    const np = await eventually('eu NetworkPolicy', () =>
      k.objects
        .read({
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'consortia-nodes', namespace: euNs },
        })
        .catch(() => undefined),
    );
    expect(JSON.stringify(np), JSON.stringify((np as any).spec)).toContain('198.51.100.0/24');
    await eventually(
      'StatefulSet in the home cluster',
      () =>
        k.apps
          .readNamespacedStatefulSet({ name: nodeObjectNames(home.id).statefulSet, namespace: ns(gamma.body.id) })
          .catch(() => undefined),
      60_000,
    );
    const awayStatus = await waitFor(
      'eu node advertises its template address',
      async () => {
        const r = await b.call('GET', `/v1/consortia/${gamma.body.id}/nodes/${away.id}`);
        return r.body.status.endpoints?.p2p ? r.body.status.endpoints : undefined;
      },
      30_000,
    );
    expect(awayStatus.p2p).toBe(`${nodeObjectNames(away.id).statefulSet}.p2p.eu.example.com:443`);
  });

  it('applies a consortium of four validators: every object exists with the expected spec', async () => {
    ({ id: cid, nodes } = await createConsortiumWithValidators('alpha'));
    const namespace = ns(cid);
    const nsObj = await eventually(
      'namespace',
      () => k.core.readNamespace({ name: namespace }).catch(() => undefined),
      60_000,
    );
    expect(nsObj.metadata?.labels?.[LABEL.consortium]).toBeDefined();
    for (const n of nodes) {
      const names = nodeObjectNames(n.id);
      const sts = await eventually(
        `StatefulSet of ${n.id}`,
        () => k.apps.readNamespacedStatefulSet({ name: names.statefulSet, namespace }).catch(() => undefined),
        60_000,
      );
      expect(sts.spec?.replicas).toBe(1);
      expect(sts.metadata?.labels?.[LABEL.org]).toBe(n.orgId);
      expect(sts.metadata?.labels?.[LABEL.role]).toBe('validator');
      expect(sts.metadata?.managedFields?.some((f) => f.manager === 'consortia' && f.operation === 'Apply')).toBe(true);
      const pvc = sts.spec?.volumeClaimTemplates?.[0];
      expect(pvc?.spec?.storageClassName).toBe('fast-ssd');
      expect(pvc?.spec?.resources?.requests?.['storage']).toBe('20Gi');
      const ctr = sts.spec?.template.spec?.containers[0];
      expect(ctr?.image).toBe(IMAGE);
      expect(ctr?.resources?.requests).toMatchObject({ cpu: '250m', memory: '256Mi' });
      expect(ctr?.securityContext?.readOnlyRootFilesystem).toBe(true);
      expect(ctr?.livenessProbe?.httpGet?.path).toBe('/healthz');
      expect(ctr?.readinessProbe?.httpGet?.path).toBe('/readyz');
      const headless = await eventually('headless Service', () =>
        k.core.readNamespacedService({ name: names.headlessService, namespace }).catch(() => undefined),
      );
      expect(headless.spec?.clusterIP).toBe('None');
      await eventually('client Service', () =>
        k.core.readNamespacedService({ name: names.clientService, namespace }).catch(() => undefined),
      );
      const cm = await eventually('ConfigMap', () =>
        k.core.readNamespacedConfigMap({ name: names.configMap, namespace }).catch(() => undefined),
      );
      const cfg = JSON.parse(cm.data?.['node.json'] ?? '{}') as Record<string, unknown>;
      expect(cfg['role']).toBe('validator');
      expect(JSON.stringify(cm.data)).not.toMatch(/secretKey/i); // node keys are made in the pod
    }
    const pdb = await eventually('PodDisruptionBudget', () =>
      k.objects
        .read({
          apiVersion: 'policy/v1',
          kind: 'PodDisruptionBudget',
          metadata: { name: 'consortia-validators', namespace },
        })
        .catch(() => undefined),
    );
    expect((pdb as { spec?: { maxUnavailable?: number } }).spec?.maxUnavailable).toBe(1); // n=4 tolerates f=1
    const np = await eventually('NetworkPolicy', () =>
      k.objects
        .read({
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'consortia-nodes', namespace },
        })
        .catch(() => undefined),
    );
    // Only the consortium's own pods may reach P2P (the rule must survive serialization to the API server).
    const p2pRule = (np as V1NetworkPolicy).spec?.ingress?.find((r) => r.ports?.some((p) => p.port === 26656));
    expect(p2pRule?._from?.[0]?.podSelector?.matchLabels?.[LABEL.consortium]).toBe(cid); // `from` in the typed model
    const list = await k.apps.listNamespacedStatefulSet({ namespace });
    expect(list.items).toHaveLength(4);
  });

  it('reports pod status from the API server in node status', async () => {
    const namespace = ns(cid);
    const [first, ...rest] = nodes;
    await fakeKubeletPod(k, namespace, specOf(first!), false);
    const running = await waitFor(
      'Running but not ready',
      async () => {
        const r = await a.call('GET', `/v1/consortia/${cid}/nodes/${first!.id}`);
        return r.body.status.phase === 'Running' && r.body.status.ready === false ? r.body : undefined;
      },
      30_000,
    );
    expect(running.status.endpoints.p2p).toBe(
      `${nodeObjectNames(first!.id).pod}.${nodeObjectNames(first!.id).headlessService}.${namespace}.svc.cluster.local:26656`,
    );
    for (const n of nodes) await fakeKubeletPod(k, namespace, specOf(n), true);
    const all = await waitFor(
      'all four ready',
      async () => {
        const r = await b.call('GET', `/v1/consortia/${cid}/nodes`);
        const items = r.body.items as ApiNode[];
        return items.length === 4 && items.every((n) => n.status.phase === 'Running' && n.status.ready)
          ? items
          : undefined;
      },
      30_000,
    );
    expect(all.map((n) => n.id).sort()).toEqual(nodes.map((n) => n.id).sort());
    expect(rest.length).toBe(3);
  });

  it('repairs a deleted Service', async () => {
    const namespace = ns(cid);
    const names = nodeObjectNames(nodes[2]!.id);
    const old = await k.core.readNamespacedService({ name: names.clientService, namespace });
    await k.core.deleteNamespacedService({ name: names.clientService, namespace });
    const back = await eventually(
      'Service re-created',
      () => k.core.readNamespacedService({ name: names.clientService, namespace }).catch(() => undefined),
      30_000,
    );
    expect(back.metadata?.uid).not.toBe(old.metadata?.uid);
  });

  it('converges after the control plane is SIGKILLed mid-apply and restarted, with no duplicates', async () => {
    const beta = await createConsortiumWithValidators('beta');
    const namespace = ns(beta.id);
    await eventually(
      'first object of beta written',
      () => k.core.readNamespace({ name: namespace }).catch(() => undefined),
      30_000,
    );
    await cp.kill9();
    await cp.restart();
    for (const n of beta.nodes) {
      await eventually(
        `StatefulSet of ${n.id} after restart`,
        () =>
          k.apps
            .readNamespacedStatefulSet({ name: nodeObjectNames(n.id).statefulSet, namespace })
            .catch(() => undefined),
        60_000,
      );
    }
    const sts = await k.apps.listNamespacedStatefulSet({ namespace });
    expect(sts.items.map((s) => s.metadata?.name).sort()).toEqual(
      beta.nodes.map((n) => nodeObjectNames(n.id).statefulSet).sort(),
    );
    const apiNodes = await a.call('GET', `/v1/consortia/${beta.id}/nodes`);
    expect(apiNodes.body.items).toHaveLength(4);
    // alpha is still intact after the restart
    expect((await k.apps.listNamespacedStatefulSet({ namespace: ns(cid) })).items).toHaveLength(4);
  });

  it('rolls a new node image through a consortium one validator at a time, never below quorum', async () => {
    const beta = (await admin('GET', '/v1/consortia')).body.items.find((c: { name: string }) => c.name === 'beta');
    const betaNodes = (await admin('GET', `/v1/consortia/${beta.id}/nodes`)).body.items as ApiNode[];
    const namespace = ns(beta.id);
    for (const n of betaNodes) await fakeKubeletPod(k, namespace, specOf(n), true);
    await waitFor(
      'beta ready',
      async () =>
        ((await admin('GET', `/v1/consortia/${beta.id}/nodes`)).body.items as ApiNode[]).every((n) => n.status.ready) ||
        undefined,
      30_000,
    );

    const NEW = 'registry.example/consortia-node:2.1.0';
    const patched = await admin('PATCH', `/v1/consortia/${beta.id}`, { nodeImage: NEW });
    expect(patched.status).toBe(200);
    // StatefulSet controller + kubelet: a pod from an older template is replaced, and Ready 1.5 s later.
    const replacedAt = new Map<string, number>();
    let maxDown = 0;
    let stop = false;
    const kubelet = (async () => {
      while (!stop) {
        for (const n of betaNodes) {
          const names = nodeObjectNames(n.id);
          const tpl = (await k.apps.readNamespacedStatefulSet({ name: names.statefulSet, namespace })).spec?.template;
          const pod = await k.core.readNamespacedPod({ name: names.pod, namespace }).catch(() => undefined);
          if (pod?.spec?.containers[0]?.image !== tpl?.spec?.containers[0]?.image) {
            await fakeKubeletPod(k, namespace, specOf(n), false);
            replacedAt.set(n.id, Date.now());
          } else if ((replacedAt.get(n.id) ?? Infinity) < Date.now() - 1500) {
            await fakeKubeletPod(k, namespace, specOf(n), true);
            replacedAt.delete(n.id);
          }
        }
        maxDown = Math.max(maxDown, replacedAt.size);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      await waitFor(
        'every node on the new image and ready',
        async () => {
          const items = (await admin('GET', `/v1/consortia/${beta.id}/nodes`)).body.items as ApiNode[];
          const images = await Promise.all(
            betaNodes.map(
              async (n) =>
                (await k.apps.readNamespacedStatefulSet({ name: nodeObjectNames(n.id).statefulSet, namespace })).spec
                  ?.template.spec?.containers[0]?.image,
            ),
          );
          return images.every((i) => i === NEW) && replacedAt.size === 0 && items.every((n) => n.status.ready)
            ? true
            : undefined;
        },
        90_000,
        500,
      );
    } finally {
      stop = true;
      await kubelet;
    }
    expect(maxDown).toBe(1); // 4 validators tolerate f = 1 down
  });

  it('deleting the consortium removes every owned object', async () => {
    const del = await admin('DELETE', `/v1/consortia/${cid}`);
    expect(del.status).toBe(202);
    expect(del.body.status).toBe('DELETING');
    await waitFor(
      'consortium DELETED',
      async () => ((await admin('GET', `/v1/consortia/${cid}`)).body.status === 'DELETED' ? true : undefined),
      90_000,
      500,
    );
    const namespace = ns(cid);
    const selector = 'app.kubernetes.io/managed-by=consortia';
    for (const [apiVersion, kind] of [
      ['apps/v1', 'StatefulSet'],
      ['v1', 'Service'],
      ['v1', 'ConfigMap'],
      ['v1', 'Pod'],
      ['v1', 'PersistentVolumeClaim'],
      ['networking.k8s.io/v1', 'NetworkPolicy'],
      ['policy/v1', 'PodDisruptionBudget'],
    ] as const) {
      const list = await k.objects.list(
        apiVersion,
        kind,
        namespace,
        undefined,
        undefined,
        undefined,
        undefined,
        selector,
      );
      expect(
        list.items.map(
          (i) =>
            `${kind}/${i.metadata?.name} ${JSON.stringify(i.metadata?.finalizers)} ${i.metadata?.deletionTimestamp} ${i.metadata?.creationTimestamp}`,
        ),
      ).toEqual([]);
    }
    // No namespace controller runs here: the namespace is Terminating rather than gone.
    const nsObj = await k.core.readNamespace({ name: namespace }).catch(() => undefined);
    expect(nsObj === undefined || nsObj.metadata?.deletionTimestamp !== undefined).toBe(true);
    // The other consortium is untouched.
    expect(
      (
        await k.apps.listNamespacedStatefulSet({
          namespace: ns(
            (await admin('GET', '/v1/consortia')).body.items.find((c: { name: string }) => c.name === 'beta').id,
          ),
        })
      ).items,
    ).toHaveLength(4);
  });
});
