import type { KubernetesObject, V1ConfigMap, V1StatefulSet } from '@kubernetes/client-node';
import { ConsortiaError } from '../../../lib/errors.js';
import { createLogger, type Logger } from '../../../lib/logging.js';
import { createCa, type CertificateAuthority } from '../../../lib/tls-ca.js';
import { WorkQueue } from '../../workqueue/index.js';
import type { NodeObservation, NodeSpec, Runtime } from '../runtime.js';
import { KubeClient, loadKubeConfig } from './client.js';
import { DesiredState } from './desired-state.js';
import { KubernetesCodes } from './errors.js';
import { requestForEvent } from './event-mapping.js';
import { OwnedInformers, type WatchEvent, type WatchedKind } from './informers.js';
import { advertisedP2pAddress, clientServiceUrl, specFromConfigData } from './manifests/index.js';
import { namespaceName, nodeObjectNames } from './names.js';
import { NodeApi } from './node-api.js';
import { NodeCertificates } from './node-tls.js';
import { DELETING_ANNOTATION, ObjectReconciler } from './object-reconciler.js';
import { ObjectWriter, ServiceMonitorDiscovery } from './object-writer.js';
import { resolveOptions, type KubernetesRuntimeInput, type KubernetesRuntimeOptions } from './options.js';
import { PodChanges } from './pod-changes.js';
import {
  consortiumRequest,
  nodeRequest,
  requestKey,
  type NodeRef,
  type ReconcileRequest,
} from './reconcile-request.js';
import { deriveObservation, podReadyWithImage } from './status.js';
import { canTakeDown, upgradeOrder } from './upgrade-plan.js';

export interface KubernetesRuntime extends Runtime {
  readonly kind: 'kubernetes';
  readonly options: KubernetesRuntimeOptions;
  /** Resolves once watches are synced and desired state was restored from the cluster. */
  ready(): Promise<void>;
  /** Resolves when no reconcile is pending or running. */
  idle(): Promise<void>;
  /** Deletes every node of a consortium, then its NetworkPolicy, PDB and Namespace. */
  deleteConsortium(consortiumId: string): Promise<void>;
  /**
   * Rolling image upgrade: non-validators first, then validators one at a time, each only when
   * the other ready validators still form a quorum, waiting for the pod to be Ready on the new
   * image before the next. `applySpec` lets the caller persist the new spec in its own store
   * (default: this runtime's apply).
   */
  upgradeImage(
    consortiumId: string,
    image: string,
    opts?: { readyTimeoutMs?: number; applySpec?: (spec: NodeSpec) => Promise<void> },
  ): Promise<void>;
  /** Desired specs this runtime currently holds (restored from ConfigMaps after a restart). */
  desiredSpecs(consortiumId?: string): NodeSpec[];
  /** PEM certificate of the node CA that signs every node's HTTPS certificate (what clients of the nodes trust). */
  nodeCaCertificate(): Promise<string>;
}

export type CreateKubernetesRuntimeInput = KubernetesRuntimeInput & {
  logger?: Logger;
  /** Reconcile workers. */
  concurrency?: number;
  /** Timeout of calls to a node's own API (/v1/identity, /v1/status). */
  nodeApiTimeoutMs?: number;
  /**
   * The CA that signs each node's HTTPS certificate: the control plane's node CA (main.ts keeps it
   * in its data directory). Without one (tests) the runtime makes its own for its lifetime.
   */
  nodeCa?: CertificateAuthority;
};

/** Reconciles running at once unless CreateKubernetesRuntimeInput.concurrency says otherwise. */
export const RECONCILE_WORKERS_DEFAULT = 2;
/** Timeout of a call to a node's own API unless nodeApiTimeoutMs says otherwise. */
export const NODE_API_TIMEOUT_MS_DEFAULT = 2_000;
/** How long upgradeImage() waits for each node to be ready on the new image unless told otherwise. */
export const UPGRADE_READY_TIMEOUT_MS_DEFAULT = 600_000;

/**
 * The kubernetes Runtime: desired node specs (from apply(), or restored from the ConfigMaps it
 * wrote) are reconciled by the shared work queue (../../workqueue) running ObjectReconciler,
 * fed by apply()/delete() and by watches on every owned object (event-mapping.ts).
 */
export function createKubernetesRuntime(input: CreateKubernetesRuntimeInput): KubernetesRuntime {
  const { logger, concurrency, nodeApiTimeoutMs, nodeCa, ...rest } = input;
  const opts = resolveOptions(rest);
  if (!opts.kubeconfig && !opts.inCluster) {
    throw new ConsortiaError(KubernetesCodes.K8S_INVALID_OPTIONS, 'kubernetes runtime needs kubeconfig or inCluster');
  }
  const log = logger ?? createLogger('warn', { component: 'k8s-runtime' });
  const kc = loadKubeConfig(opts);
  const client = new KubeClient(kc, opts.fieldManager);
  const state = new DesiredState();
  const writer = new ObjectWriter(client, opts, log);
  const podChanges = new PodChanges();
  let closed = false;
  let ca: Promise<CertificateAuthority> | undefined = nodeCa ? Promise.resolve(nodeCa) : undefined;
  const caOf = (): Promise<CertificateAuthority> => {
    if (!ca) {
      log.warn(
        'no node CA given: using one made for this runtime only; nodes will get new certificates after a restart',
      );
      ca = createCa('consortia-node-ca');
    }
    return ca;
  };
  const certificates = new NodeCertificates(caOf);

  const nsOf = (cid: string): string => namespaceName(opts.namespacePrefix, cid);

  function onEvent(kind: WatchedKind, event: WatchEvent, o: KubernetesObject): void {
    if (closed) return;
    if (kind === 'Pod' || kind === 'StatefulSet') podChanges.notify();
    const request = requestForEvent(kind, event, o, {
      hasNodes: (cid) => state.hasNodes(cid),
      isOwnWrite: (k, obj) => writer.isOwnWrite(k, obj),
    });
    if (!request) return;
    if (event === 'delete') writer.forget(kind, o);
    if (request.kind === 'consortium') reconciler.invalidateConsortium(request.consortiumId);
    queue.add(request);
  }

  const informers = new OwnedInformers(kc, onEvent, log, opts.backoff);
  const nodeApi = new NodeApi(
    client,
    opts,
    informers,
    nodeApiTimeoutMs ?? NODE_API_TIMEOUT_MS_DEFAULT,
    async () => (await caOf()).cert,
  );
  const reconciler = new ObjectReconciler({
    client,
    opts,
    log,
    state,
    writer,
    serviceMonitors: new ServiceMonitorDiscovery(client, opts.crdCheckIntervalMs, log),
    certificates,
    enqueue: (r) => queue.add(r),
    onNodeDeleted: (r) => nodeApi.forget(r),
  });
  const queue = new WorkQueue<ReconcileRequest>(reconciler, {
    keyOf: requestKey,
    concurrency: concurrency ?? RECONCILE_WORKERS_DEFAULT,
    baseMs: opts.backoff.baseMs,
    maxMs: opts.backoff.maxMs,
    onError: (r, err, attempt, retryInMs) =>
      log.warn('reconcile failed; requeued', {
        key: requestKey(r),
        attempt,
        retryInMs,
        code: (err as ConsortiaError).code,
        error: (err as Error).message,
      }),
  });

  /** Restores desired state from the ConfigMaps we wrote, so a restarted control plane converges on its own. */
  function restore(): void {
    for (const o of informers.list('ConfigMap')) {
      const cm = o as V1ConfigMap;
      const spec = specFromConfigData(cm.data);
      if (!spec) continue;
      state.restore(spec, cm.metadata?.annotations?.[DELETING_ANNOTATION] === 'true');
      queue.add(nodeRequest(spec));
    }
  }

  const started: Promise<void> = (async () => {
    await informers.start();
    restore();
  })();
  started.catch((err: unknown) =>
    log.error('kubernetes runtime failed to start', { error: String((err as Error)?.message ?? err) }),
  );

  async function observe(ref: NodeRef): Promise<NodeObservation> {
    const ns = nsOf(ref.consortiumId);
    const names = nodeObjectNames(ref.nodeId);
    const sts = informers.get('StatefulSet', ns, names.statefulSet) as V1StatefulSet | undefined;
    const pod = nodeApi.pod(ref);
    const cachedIdentity = nodeApi.identity(ref);
    const report =
      pod?.status?.phase === 'Running'
        ? await nodeApi.report(ref)
        : { ...(cachedIdentity ? { identity: cachedIdentity } : {}) };
    const obs = deriveObservation(sts, pod, report);
    const spec = state.spec(ref);
    if (!sts && spec) {
      obs.phase = 'Pending';
      obs.message = 'applying manifests';
    }
    const err = reconciler.errorOf(nodeRequest(ref));
    if (err && obs.phase !== 'Running') obs.message = `${err.code}: ${err.message}`;
    if (sts || spec) {
      const api =
        opts.nodeAccess === 'proxy'
          ? `${kc.getCurrentCluster()?.server ?? ''}/api/v1/namespaces/${ns}/services/https:${names.clientService}:api/proxy`
          : clientServiceUrl(ref.nodeId, ns, opts);
      let p2p = advertisedP2pAddress(ref, ns, opts);
      if (opts.p2pExternalServiceType && !opts.p2pAdvertiseTemplate) {
        const ext = informers.get('Service', ns, names.externalP2pService) as
          | { status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } } }
          | undefined;
        const ing = ext?.status?.loadBalancer?.ingress?.[0];
        if (ing?.ip || ing?.hostname) p2p = `${ing.hostname ?? ing.ip}:${opts.ports.p2p}`;
      }
      // Other nodes reach this one through its client Service, whatever way the control plane uses.
      obs.endpoints = { api, p2p, metrics: `${api}/metrics`, peerApi: clientServiceUrl(ref.nodeId, ns, opts) };
    }
    return obs;
  }

  const runtime: KubernetesRuntime = {
    kind: 'kubernetes',
    options: opts,
    ready: () => started,
    idle: async () => {
      await started;
      await queue.idle();
    },

    async apply(spec: NodeSpec): Promise<void> {
      await started;
      state.run(spec);
      await queue.addAndWait(nodeRequest(spec));
    },

    async delete(ref: NodeRef): Promise<void> {
      await started;
      state.remove(ref);
      await queue.addAndWait(nodeRequest(ref));
      await queue.addAndWait(consortiumRequest(ref.consortiumId));
    },

    async deleteConsortium(consortiumId: string): Promise<void> {
      await started;
      for (const s of state.specs(consortiumId)) await runtime.delete(s);
      state.markCleanup(consortiumId);
      await queue.addAndWait(consortiumRequest(consortiumId));
    },

    async observe(ref: NodeRef): Promise<NodeObservation> {
      await started;
      return observe(ref);
    },

    async upgradeImage(consortiumId, image, o = {}) {
      await started;
      const timeout = o.readyTimeoutMs ?? UPGRADE_READY_TIMEOUT_MS_DEFAULT;
      const applySpec = o.applySpec ?? ((s: NodeSpec) => runtime.apply(s));
      const nodes = upgradeOrder(state.specs(consortiumId));
      const validators = nodes.filter((s) => s.role === 'validator');
      const isReady = (s: NodeSpec): boolean => {
        const pod = nodeApi.pod(s);
        return (
          !!pod &&
          !pod.metadata?.deletionTimestamp &&
          (pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false)
        );
      };
      for (const spec of nodes) {
        const current = state.spec(spec) ?? spec;
        if ((current.image ?? opts.image) === image && podReadyWithImage(nodeApi.pod(spec), image)) continue;
        if (spec.role === 'validator') {
          const othersReady = (): number => validators.filter((v) => v.nodeId !== spec.nodeId && isReady(v)).length;
          await podChanges.waitFor(
            () => canTakeDown(othersReady(), validators.length),
            timeout,
            () =>
              new ConsortiaError(
                KubernetesCodes.K8S_UPGRADE_BLOCKED,
                `upgrading validator ${spec.nodeId} would break quorum`,
                {
                  nodeId: spec.nodeId,
                  readyOthers: othersReady(),
                  validators: validators.length,
                },
              ),
          );
        }
        await applySpec({ ...current, image, generation: current.generation + 1 });
        await podChanges.waitFor(
          () => podReadyWithImage(nodeApi.pod(spec), image),
          timeout,
          () =>
            new ConsortiaError(
              KubernetesCodes.K8S_UPGRADE_TIMEOUT,
              `node ${spec.nodeId} not ready on ${image} within ${timeout} ms`,
              { nodeId: spec.nodeId },
            ),
        );
        log.info('node upgraded', { nodeId: spec.nodeId, image });
      }
    },

    desiredSpecs(consortiumId?: string): NodeSpec[] {
      return state.specs(consortiumId);
    },

    async nodeCaCertificate(): Promise<string> {
      return (await caOf()).cert;
    },

    async close(): Promise<void> {
      closed = true;
      queue.close(new ConsortiaError(KubernetesCodes.K8S_API_ERROR, 'runtime closed'));
      await started.catch(() => undefined);
      await informers.stop();
      await nodeApi.close();
    },
  };
  return runtime;
}
