import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type V1Pod,
} from '@kubernetes/client-node';
import type { NodeSpec } from '../../src/control-plane/runtimes/runtime.js';
import { ANNOTATION, nodeLabels, nodeObjectNames } from '../../src/control-plane/runtimes/kubernetes/index.js';

export function clients(kubeconfig: string) {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig);
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    objects: KubernetesObjectApi.makeApiClient(kc),
  };
}

export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export function validatorSpec(consortiumId: string, i: number, over: Partial<NodeSpec> = {}): NodeSpec {
  return {
    nodeId: `val-${i}`,
    consortiumId,
    chainId: `chain-${consortiumId}`,
    orgId: `org-${i}`,
    role: 'validator',
    tier: {},
    resources: { cpu: '250m', memory: '256Mi' },
    mode: 'keygen',
    peers: [],
    generation: 1,
    ...over,
  };
}

/**
 * Stands in for the StatefulSet controller and the kubelet (neither runs here): creates the pod
 * from the StatefulSet's current template (labels, annotations, image) and writes its status.
 * A pod made from an older template is replaced, as a rolling update would.
 */
export async function fakeKubeletPod(
  c: Pick<ReturnType<typeof clients>, 'core' | 'apps'>,
  namespace: string,
  spec: Pick<NodeSpec, 'nodeId' | 'consortiumId' | 'orgId' | 'role'>,
  ready: boolean,
): Promise<V1Pod> {
  const names = nodeObjectNames(spec.nodeId);
  const tpl = (await c.apps.readNamespacedStatefulSet({ name: names.statefulSet, namespace })).spec!.template;
  const image = tpl.spec!.containers.find((x) => x.name === 'node')!.image!;
  const annotations = tpl.metadata?.annotations ?? {};
  let existing = await c.core.readNamespacedPod({ name: names.pod, namespace }).catch(() => undefined);
  const stale =
    existing &&
    (existing.spec?.containers[0]?.image !== image ||
      existing.metadata?.annotations?.[ANNOTATION.configHash] !== annotations[ANNOTATION.configHash]);
  if (existing && stale) {
    await c.core.deleteNamespacedPod({ name: names.pod, namespace, gracePeriodSeconds: 0 });
    await eventually(
      'old pod gone',
      async () => !(await c.core.readNamespacedPod({ name: names.pod, namespace }).catch(() => undefined)),
    );
    existing = undefined;
  }
  if (!existing) {
    await c.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: names.pod, labels: { ...nodeLabels(spec), ...tpl.metadata?.labels }, annotations },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'node',
              image,
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true },
            },
          ],
        },
      },
    });
  }
  const now = new Date();
  const status = {
    phase: 'Running',
    conditions: [
      { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
      { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now },
    ],
    containerStatuses: [
      {
        name: 'node',
        image,
        imageID: '',
        ready,
        restartCount: 0,
        started: true,
        state: { running: { startedAt: now } },
      },
    ],
  };
  const cur = await c.core.readNamespacedPod({ name: names.pod, namespace });
  cur.status = status as never;
  return c.core.replaceNamespacedPodStatus({ name: names.pod, namespace, body: cur });
}

export const SERVICE_MONITOR_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'servicemonitors.monitoring.coreos.com' },
  spec: {
    group: 'monitoring.coreos.com',
    scope: 'Namespaced',
    names: {
      plural: 'servicemonitors',
      singular: 'servicemonitor',
      kind: 'ServiceMonitor',
      listKind: 'ServiceMonitorList',
    },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        },
      },
    ],
  },
};

export { PatchStrategy };
