import type { KubernetesObject, V1ConfigMap, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { ConsortiaError } from '../../../lib/errors.js';
import { createLogger, type Logger } from '../../../lib/logging.js';
import type { NodeObservation, NodeSpec, Runtime } from '../runtime.js';
import { KubeClient, conflictManagers, loadKubeConfig, refKey, refOf, type ObjectRef } from './client.js';
import { KubernetesCodes } from './errors.js';
import { OwnedInformers, type WatchEvent, type WatchedKind } from './informers.js';
import {
  buildNamespace,
  buildNetworkPolicy,
  buildNodeObjects,
  buildValidatorPdb,
  clientServiceUrl,
  advertisedP2pAddress,
  specFromConfigData,
  type BuildContext,
  type Manifest,
} from './manifests/index.js';
import { ANNOTATION, MANAGED_BY, LABEL, consortiumObjectNames, namespaceName, nodeObjectNames, nodeSelectorLabels } from './names.js';
import { resolveOptions, type KubernetesRuntimeInput, type KubernetesRuntimeOptions } from './options.js';
import { WorkQueue } from './queue.js';
import { deriveObservation, podReadyWithImage, type NodeReport } from './status.js';
import { canTakeDown, upgradeOrder } from './upgrade-plan.js';

type NodeRef = Pick<NodeSpec, 'nodeId' | 'consortiumId'>;

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
  upgradeImage(consortiumId: string, image: string, opts?: { readyTimeoutMs?: number; applySpec?: (spec: NodeSpec) => Promise<void> }): Promise<void>;
  /** Desired specs this runtime currently holds (restored from ConfigMaps after a restart). */
  desiredSpecs(consortiumId?: string): NodeSpec[];
}

export type CreateKubernetesRuntimeInput = KubernetesRuntimeInput & {
  logger?: Logger;
  /** Reconcile workers. */
  concurrency?: number;
  /** Timeout of calls to a node's own API (/v1/identity, /v1/status). */
  nodeApiTimeoutMs?: number;
};

const nodeKey = (r: NodeRef): string => `node:${JSON.stringify([r.consortiumId, r.nodeId])}`;
const consortiumKey = (cid: string): string => `cons:${cid}`;
const DELETING_ANNOTATION = 'consortia.io/deleting';

/** Marker of the last state we wrote: generation for kinds with one (spec edits only), else resourceVersion. */
function writeMarker(o: KubernetesObject): string {
  return o.metadata?.generation !== undefined && o.kind === 'StatefulSet' ? `g${o.metadata.generation}` : `rv${o.metadata?.resourceVersion ?? ''}`;
}

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * The kubernetes Runtime: desired node specs (from apply(), or restored from the ConfigMaps it
 * wrote) are reconciled by a per-key work queue fed by watches on every owned object.
 */
export function createKubernetesRuntime(input: CreateKubernetesRuntimeInput): KubernetesRuntime {
  const { logger, concurrency, nodeApiTimeoutMs, ...rest } = input;
  const opts = resolveOptions(rest);
  if (!opts.kubeconfig && !opts.inCluster) {
    throw new ConsortiaError(KubernetesCodes.K8S_INVALID_OPTIONS, 'kubernetes runtime needs kubeconfig or inCluster');
  }
  const log = logger ?? createLogger('warn', { component: 'k8s-runtime' });
  const kc = loadKubeConfig(opts);
  const client = new KubeClient(kc, opts.fieldManager);
  const apiTimeout = nodeApiTimeoutMs ?? 2_000;

  const desired = new Map<string, NodeSpec>();
  const deleting = new Map<string, NodeRef>();
  const lastWritten = new Map<string, string>();
  const lastError = new Map<string, ConsortiaError>();
  const consortiumMemo = new Map<string, string>();
  /** Consortia whose nodes this runtime deleted: remove their namespace once no node is left. */
  const cleanup = new Set<string>();
  const identities = new Map<string, { publicKey: string; proofOfPossession: string }>();
  const nextRunWaiters = new Map<string, Waiter[]>();
  const changeListeners = new Set<() => void>();
  let monitoring: { value: boolean; at: number } | undefined;
  let closed = false;

  const nsOf = (cid: string) => namespaceName(opts.namespacePrefix, cid);

  async function serviceMonitorAvailable(): Promise<boolean> {
    const now = Date.now();
    if (monitoring && now - monitoring.at < opts.crdCheckIntervalMs) return monitoring.value;
    let value = false;
    try {
      value = await client.serves('monitoring.coreos.com', 'v1', 'servicemonitors');
    } catch (err) {
      log.warn('ServiceMonitor discovery failed', { error: (err as Error).message });
    }
    monitoring = { value, at: now };
    return value;
  }

  /** Server-side apply honoring the drift policy: imperative edits are reclaimed, Apply owners never forced. */
  async function applyObject(m: Manifest): Promise<KubernetesObject> {
    let res: KubernetesObject;
    try {
      res = await client.apply(m);
    } catch (err) {
      if (!(err instanceof ConsortiaError) || err.code !== KubernetesCodes.K8S_APPLY_CONFLICT || opts.driftRepair !== 'reclaim-updates') throw err;
      const managers = conflictManagers(err.details);
      const live = await client.read(refOf(m as KubernetesObject));
      const appliers = new Set((live?.metadata?.managedFields ?? []).filter((f) => f.operation === 'Apply').map((f) => f.manager));
      if (managers.length === 0 || managers.some((mgr) => appliers.has(mgr))) throw err;
      log.warn('reclaiming fields changed imperatively (drift)', { object: refKey(refOf(m as KubernetesObject)), managers });
      res = await client.apply(m, { force: true });
    }
    lastWritten.set(refKey(refOf(res)), writeMarker(res));
    return res;
  }

  async function deleteObject(ref: ObjectRef): Promise<void> {
    await client.delete(ref);
    lastWritten.delete(refKey(ref));
  }

  async function reconcileConsortium(cid: string): Promise<void> {
    const ns = nsOf(cid);
    const nodes = [...desired.values()].filter((s) => s.consortiumId === cid);
    const pendingDeletes = [...deleting.values()].some((r) => r.consortiumId === cid);
    if (nodes.length === 0) {
      // Only tear down what this runtime was asked to delete: another control plane (or a
      // restart still restoring) may share the cluster, and an unknown consortium is not ours to remove.
      if (pendingDeletes || !cleanup.has(cid)) return;
      // Last node gone: remove consortium-level objects and the namespace, if it is ours.
      await deleteObject({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespace: ns, name: consortiumObjectNames.networkPolicy });
      await deleteObject({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', namespace: ns, name: consortiumObjectNames.validatorPdb });
      const nsObj = await client.read({ apiVersion: 'v1', kind: 'Namespace', name: ns });
      if (nsObj?.metadata?.labels?.[LABEL.managedBy] === MANAGED_BY && !nsObj.metadata.deletionTimestamp) {
        await deleteObject({ apiVersion: 'v1', kind: 'Namespace', name: ns });
      }
      consortiumMemo.delete(cid);
      cleanup.delete(cid);
      return;
    }
    const validators = nodes.filter((s) => s.role === 'validator').length;
    const pdb = buildValidatorPdb(ns, cid, validators);
    const manifests = [buildNamespace(ns, cid), buildNetworkPolicy(ns, cid, opts), ...(pdb ? [pdb] : [])];
    const memo = JSON.stringify(manifests);
    if (consortiumMemo.get(cid) === memo) return;
    for (const m of manifests) await applyObject(m);
    if (!pdb) await deleteObject({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', namespace: ns, name: consortiumObjectNames.validatorPdb });
    consortiumMemo.set(cid, memo);
  }

  async function reconcileNode(key: string): Promise<void> {
    const spec = desired.get(key);
    if (spec) {
      await reconcileConsortium(spec.consortiumId);
      const ctx: BuildContext = { opts, namespace: nsOf(spec.consortiumId), serviceMonitorAvailable: await serviceMonitorAvailable() };
      try {
        for (const m of buildNodeObjects(spec, ctx)) await applyObject(m);
      } catch (err) {
        // A namespace deleted behind our back: re-create it on the retry.
        if (err instanceof ConsortiaError && err.details?.['status'] === 404) consortiumMemo.delete(spec.consortiumId);
        throw err;
      }
      return;
    }
    const ref = deleting.get(key);
    if (ref) {
      await deleteNodeObjects(ref);
      deleting.delete(key);
      identities.delete(key);
      cleanup.add(ref.consortiumId);
      queue.add(consortiumKey(ref.consortiumId));
    }
    // Neither desired nor being deleted: an orphan (e.g. objects left by someone else); leave it.
  }

  /** StatefulSet first (stops the pod), then Services and pods/PVCs by label, the ConfigMap (our record of desire) last. */
  async function deleteNodeObjects(ref: NodeRef): Promise<void> {
    const ns = nsOf(ref.consortiumId);
    const names = nodeObjectNames(ref.nodeId);
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: names.configMap };
    // Mark the ConfigMap first so that a restart mid-deletion finishes the deletion instead of re-creating.
    try {
      await client.objects.patch(
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: names.configMap, namespace: ns, annotations: { [DELETING_ANNOTATION]: 'true' } } },
        undefined, undefined, opts.fieldManager, undefined, 'application/merge-patch+json',
      );
    } catch {
      // absent ConfigMap: nothing to mark
    }
    await deleteObject({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: ns, name: names.statefulSet });
    for (const name of [names.headlessService, names.clientService, names.externalP2pService]) {
      await deleteObject({ apiVersion: 'v1', kind: 'Service', namespace: ns, name });
    }
    await deleteObject({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: names.adminSecret });
    if (await serviceMonitorAvailable()) {
      await deleteObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', namespace: ns, name: names.serviceMonitor });
    }
    const selector = Object.entries(nodeSelectorLabels(ref.nodeId, ref.consortiumId)).map(([k, v]) => `${k}=${v}`).join(',');
    // Normally the StatefulSet controller / garbage collector removes the pod; do it explicitly so nothing lingers.
    for (const pod of await client.list<V1Pod>('v1', 'Pod', ns, selector)) {
      await deleteObject({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: pod.metadata?.name ?? '' });
    }
    if (opts.pvcPolicy === 'delete') {
      for (const pvc of await client.list('v1', 'PersistentVolumeClaim', ns, selector)) {
        await deleteObject({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: pvc.metadata?.name ?? '' });
      }
    }
    await deleteObject(cm);
  }

  async function handle(key: string): Promise<void> {
    // Callers of apply()/delete() wait for the run that starts after their request.
    const waiters = nextRunWaiters.get(key) ?? [];
    nextRunWaiters.delete(key);
    const started = Date.now();
    try {
      if (key.startsWith('cons:')) await reconcileConsortium(key.slice(5));
      else await reconcileNode(key);
      lastError.delete(key);
      for (const w of waiters) w.resolve();
      log.debug('reconciled', { key, ms: Date.now() - started });
    } catch (err) {
      const e = err instanceof ConsortiaError ? err : new ConsortiaError(KubernetesCodes.K8S_API_ERROR, String((err as Error)?.message ?? err));
      lastError.set(key, e);
      for (const w of waiters) w.reject(e);
      throw e;
    }
  }

  const queue = new WorkQueue(handle, {
    concurrency: concurrency ?? 2,
    baseMs: opts.backoff.baseMs,
    maxMs: opts.backoff.maxMs,
    onError: (key, err, attempt, retryInMs) =>
      log.warn('reconcile failed; requeued', { key, attempt, retryInMs, code: (err as ConsortiaError).code, error: (err as Error).message }),
  });

  function runAndWait(key: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const list = nextRunWaiters.get(key) ?? [];
      list.push({ resolve, reject });
      nextRunWaiters.set(key, list);
      queue.add(key);
    });
  }

  function keyOfObject(kind: WatchedKind, o: KubernetesObject): string | undefined {
    const a = o.metadata?.annotations ?? {};
    const cid = a[ANNOTATION.consortiumId];
    const nid = a[ANNOTATION.nodeId];
    if (cid && nid) return nodeKey({ consortiumId: cid, nodeId: nid });
    if (cid && (kind === 'NetworkPolicy' || kind === 'PodDisruptionBudget')) {
      return [...desired.values()].some((d) => d.consortiumId === cid) ? consortiumKey(cid) : undefined;
    }
    return undefined;
  }

  function onEvent(kind: WatchedKind, event: WatchEvent, o: KubernetesObject): void {
    if (closed) return;
    if (kind === 'Pod' || kind === 'StatefulSet') for (const l of changeListeners) l();
    if (kind === 'Pod') return; // status only; pods are the StatefulSet controller's
    const key = keyOfObject(kind, o);
    if (!key) return;
    const rk = refKey({ ...refOf(o), kind });
    if (event === 'delete') {
      lastWritten.delete(rk);
      if (key.startsWith('cons:')) consortiumMemo.delete(key.slice(5));
      queue.add(key);
      return;
    }
    // Our own writes come back as events: act only on changes we did not make (drift, or first sight after start).
    if (lastWritten.get(rk) === writeMarker({ ...o, kind })) return;
    if (key.startsWith('cons:')) consortiumMemo.delete(key.slice(5));
    queue.add(key);
  }

  const informers = new OwnedInformers(kc, onEvent, log, opts.backoff);

  /** Restores desired state from the ConfigMaps we wrote, so a restarted control plane converges on its own. */
  async function restore(): Promise<void> {
    for (const o of informers.list('ConfigMap')) {
      const cm = o as V1ConfigMap;
      const spec = specFromConfigData(cm.data);
      if (!spec) continue;
      const key = nodeKey(spec);
      if (cm.metadata?.annotations?.[DELETING_ANNOTATION] === 'true') {
        if (!desired.has(key)) deleting.set(key, { nodeId: spec.nodeId, consortiumId: spec.consortiumId });
      } else if (!desired.has(key) && !deleting.has(key)) {
        desired.set(key, spec);
      }
      queue.add(key);
    }
  }

  const started: Promise<void> = (async () => {
    await informers.start();
    await restore();
  })();
  started.catch((err: unknown) => log.error('kubernetes runtime failed to start', { error: String((err as Error)?.message ?? err) }));

  function waitFor(pred: () => boolean, timeoutMs: number, onTimeout: () => ConsortiaError): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!pred()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(onTimeout());
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        changeListeners.delete(check);
      };
      changeListeners.add(check);
    });
  }

  function podOf(r: NodeRef): V1Pod | undefined {
    return informers.get('Pod', nsOf(r.consortiumId), nodeObjectNames(r.nodeId).pod) as V1Pod | undefined;
  }

  /**
   * The node's own API, asked of its pod and not of its client Service: a Service routes only to
   * ready pods, and a node in key-generation mode is not ready (no genesis) while its identity is
   * exactly what the ceremony needs.
   */
  async function nodeGet(r: NodeRef, path: string): Promise<unknown> {
    const ns = nsOf(r.consortiumId);
    const pod = podOf(r);
    if (opts.nodeAccess === 'proxy') {
      const text = await Promise.race([
        client.proxyGetPod(ns, nodeObjectNames(r.nodeId).pod, opts.ports.api, path),
        new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), apiTimeout).unref()),
      ]);
      return typeof text === 'string' ? (JSON.parse(text) as unknown) : text;
    }
    const ip = pod?.status?.podIP;
    if (!ip) throw new Error('pod has no IP yet');
    const host = ip.includes(':') ? `[${ip}]` : ip;
    const res = await fetch(`http://${host}:${opts.ports.api}${path}`, { signal: AbortSignal.timeout(apiTimeout) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res.json();
  }

  /** Best effort: the node's own view, when it answers. */
  async function nodeReport(r: NodeRef): Promise<NodeReport> {
    const key = nodeKey(r);
    const report: NodeReport = {};
    const cached = identities.get(key);
    if (cached) report.identity = cached;
    try {
      if (!cached) {
        const id = (await nodeGet(r, '/v1/identity')) as { publicKey?: string; proofOfPossession?: string };
        if (typeof id.publicKey === 'string' && typeof id.proofOfPossession === 'string') {
          report.identity = { publicKey: id.publicKey, proofOfPossession: id.proofOfPossession };
          identities.set(key, report.identity);
        }
      }
      const st = (await nodeGet(r, '/v1/status')) as NodeReport['status'];
      if (st && typeof st === 'object') report.status = st;
    } catch {
      // unreachable (keygen mode has no /v1/status; API not up yet): fall back to what the API server says
    }
    return report;
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
      const key = nodeKey(spec);
      deleting.delete(key);
      desired.set(key, spec);
      await runAndWait(key);
    },

    async delete(ref: NodeRef): Promise<void> {
      await started;
      const key = nodeKey(ref);
      desired.delete(key);
      deleting.set(key, { nodeId: ref.nodeId, consortiumId: ref.consortiumId });
      await runAndWait(key);
      await runAndWait(consortiumKey(ref.consortiumId));
    },

    async deleteConsortium(consortiumId: string): Promise<void> {
      await started;
      const refs = [...desired.values()].filter((s) => s.consortiumId === consortiumId);
      for (const s of refs) await runtime.delete(s);
      cleanup.add(consortiumId);
      await runAndWait(consortiumKey(consortiumId));
    },

    async observe(ref: NodeRef): Promise<NodeObservation> {
      await started;
      const key = nodeKey(ref);
      const ns = nsOf(ref.consortiumId);
      const names = nodeObjectNames(ref.nodeId);
      const sts = informers.get('StatefulSet', ns, names.statefulSet) as V1StatefulSet | undefined;
      const pod = podOf(ref);
      const report = pod?.status?.phase === 'Running' ? await nodeReport(ref) : { ...(identities.get(key) ? { identity: identities.get(key) } : {}) };
      const obs = deriveObservation(sts, pod, report);
      const spec = desired.get(key);
      if (!sts && spec) {
        obs.phase = 'Pending';
        obs.message = 'applying manifests';
      }
      const err = lastError.get(key);
      if (err && obs.phase !== 'Running') obs.message = `${err.code}: ${err.message}`;
      if (sts || spec) {
        const api =
          opts.nodeAccess === 'proxy'
            ? `${kc.getCurrentCluster()?.server ?? ''}/api/v1/namespaces/${ns}/services/${names.clientService}:api/proxy`
            : clientServiceUrl(ref.nodeId, ns, opts);
        let p2p = advertisedP2pAddress(ref, ns, opts);
        if (opts.p2pExternalServiceType && !opts.p2pAdvertiseTemplate) {
          const ext = informers.get('Service', ns, names.externalP2pService) as { status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } } } | undefined;
          const ing = ext?.status?.loadBalancer?.ingress?.[0];
          if (ing?.ip || ing?.hostname) p2p = `${ing.hostname ?? ing.ip}:${opts.ports.p2p}`;
        }
        // Other nodes reach this one through its client Service, whatever way the control plane uses.
        obs.endpoints = { api, p2p, metrics: `${api}/metrics`, peerApi: clientServiceUrl(ref.nodeId, ns, opts) };
      }
      return obs;
    },

    async upgradeImage(consortiumId, image, o = {}) {
      await started;
      const timeout = o.readyTimeoutMs ?? 600_000;
      const applySpec = o.applySpec ?? ((s: NodeSpec) => runtime.apply(s));
      const nodes = upgradeOrder([...desired.values()].filter((s) => s.consortiumId === consortiumId));
      const validators = nodes.filter((s) => s.role === 'validator');
      const isReady = (s: NodeSpec) => {
        const pod = podOf(s);
        return !!pod && !pod.metadata?.deletionTimestamp && (pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false);
      };
      for (const spec of nodes) {
        const current = desired.get(nodeKey(spec)) ?? spec;
        if ((current.image ?? opts.image) === image && podReadyWithImage(podOf(spec), image)) continue;
        if (spec.role === 'validator') {
          const othersReady = () => validators.filter((v) => v.nodeId !== spec.nodeId && isReady(v)).length;
          await waitFor(() => canTakeDown(othersReady(), validators.length), timeout, () =>
            new ConsortiaError(KubernetesCodes.K8S_UPGRADE_BLOCKED, `upgrading validator ${spec.nodeId} would break quorum`, {
              nodeId: spec.nodeId,
              readyOthers: othersReady(),
              validators: validators.length,
            }),
          );
        }
        await applySpec({ ...current, image, generation: current.generation + 1 });
        await waitFor(() => podReadyWithImage(podOf(spec), image), timeout, () =>
          new ConsortiaError(KubernetesCodes.K8S_UPGRADE_TIMEOUT, `node ${spec.nodeId} not ready on ${image} within ${timeout} ms`, { nodeId: spec.nodeId }),
        );
        log.info('node upgraded', { nodeId: spec.nodeId, image });
      }
    },

    desiredSpecs(consortiumId?: string): NodeSpec[] {
      return [...desired.values()].filter((s) => consortiumId === undefined || s.consortiumId === consortiumId);
    },

    async close(): Promise<void> {
      closed = true;
      queue.close();
      await started.catch(() => undefined);
      await informers.stop();
      for (const [, ws] of nextRunWaiters) for (const w of ws) w.reject(new ConsortiaError(KubernetesCodes.K8S_API_ERROR, 'runtime closed'));
      nextRunWaiters.clear();
    },
  };
  return runtime;
}
