import type { V1Pod } from '@kubernetes/client-node';
import { ConsortiaError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/logging.js';
import type { ReconcileResult, Reconciler } from '../../workqueue/index.js';
import type { KubeClient } from './client.js';
import type { DesiredState } from './desired-state.js';
import { KubernetesCodes } from './errors.js';
import {
  buildNamespace,
  buildNetworkPolicy,
  buildNodeObjects,
  buildValidatorPdb,
  type BuildContext,
} from './manifests/index.js';
import {
  LABEL,
  MANAGED_BY,
  consortiumObjectNames,
  namespaceName,
  nodeObjectNames,
  nodeSelectorLabels,
} from './names.js';
import type { ObjectWriter, ServiceMonitorDiscovery } from './object-writer.js';
import type { NodeCertificates } from './node-tls.js';
import type { KubernetesRuntimeOptions } from './options.js';
import { consortiumRequest, requestKey, type NodeRef, type ReconcileRequest } from './reconcile-request.js';

/** Marks a node's ConfigMap while its deletion runs, so a restart mid-deletion finishes it instead of re-creating. */
export const DELETING_ANNOTATION = 'consortia.io/deleting';

export interface ObjectReconcilerDeps {
  client: KubeClient;
  opts: KubernetesRuntimeOptions;
  log: Logger;
  state: DesiredState;
  writer: ObjectWriter;
  serviceMonitors: ServiceMonitorDiscovery;
  /** Each node's server certificate from the node CA (into its TLS Secret). */
  certificates: NodeCertificates;
  /** Queues a follow-up request (a consortium once one of its nodes is deleted). */
  enqueue: (r: ReconcileRequest) => void;
  /** A node's objects are gone (its cached identity goes with them). */
  onNodeDeleted: (r: NodeRef) => void;
}

/**
 * Reconciles one request against the cluster: a node's objects to its desired spec (or deleted),
 * a consortium's shared objects to its nodes (or removed with its namespace once the last node of
 * a consortium this runtime deleted is gone). Errors are kept per request for observe().
 */
export class ObjectReconciler implements Reconciler<ReconcileRequest> {
  /** Manifests last applied per consortium: unchanged ones are not re-applied. */
  private readonly consortiumMemo = new Map<string, string>();
  private readonly lastError = new Map<string, ConsortiaError>();

  constructor(private readonly d: ObjectReconcilerDeps) {}

  async reconcile(r: ReconcileRequest): Promise<ReconcileResult> {
    const key = requestKey(r);
    const started = Date.now();
    try {
      if (r.kind === 'consortium') await this.reconcileConsortium(r.consortiumId);
      else await this.reconcileNode(r);
      this.lastError.delete(key);
      this.d.log.debug('reconciled', { key, ms: Date.now() - started });
      return {};
    } catch (err) {
      const e =
        err instanceof ConsortiaError
          ? err
          : new ConsortiaError(KubernetesCodes.K8S_API_ERROR, String((err as Error)?.message ?? err));
      this.lastError.set(key, e);
      throw e;
    }
  }

  /** The last failure reconciling this request, until it succeeds. */
  errorOf(r: ReconcileRequest): ConsortiaError | undefined {
    return this.lastError.get(requestKey(r));
  }

  /** Someone else changed or removed a shared object: apply the consortium's manifests again. */
  invalidateConsortium(consortiumId: string): void {
    this.consortiumMemo.delete(consortiumId);
  }

  private nsOf(consortiumId: string): string {
    return namespaceName(this.d.opts.namespacePrefix, consortiumId);
  }

  private async reconcileConsortium(cid: string): Promise<void> {
    const { state, writer, client, opts } = this.d;
    const ns = this.nsOf(cid);
    const nodes = state.specs(cid);
    if (nodes.length === 0) {
      // Only tear down what this runtime was asked to delete: another control plane (or a
      // restart still restoring) may share the cluster, and an unknown consortium is not ours to remove.
      if (state.deletionsPending(cid) || !state.needsCleanup(cid)) return;
      // Last node gone: remove consortium-level objects and the namespace, if it is ours.
      await writer.delete({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        namespace: ns,
        name: consortiumObjectNames.networkPolicy,
      });
      await writer.delete({
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        namespace: ns,
        name: consortiumObjectNames.validatorPdb,
      });
      const nsObj = await client.read({ apiVersion: 'v1', kind: 'Namespace', name: ns });
      if (nsObj?.metadata?.labels?.[LABEL.managedBy] === MANAGED_BY && !nsObj.metadata.deletionTimestamp) {
        await writer.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns });
      }
      this.consortiumMemo.delete(cid);
      state.cleanedUp(cid);
      return;
    }
    const validators = nodes.filter((s) => s.role === 'validator').length;
    const pdb = buildValidatorPdb(ns, cid, validators);
    const manifests = [buildNamespace(ns, cid), buildNetworkPolicy(ns, cid, opts), ...(pdb ? [pdb] : [])];
    const memo = JSON.stringify(manifests);
    if (this.consortiumMemo.get(cid) === memo) return;
    for (const m of manifests) await writer.apply(m);
    if (!pdb)
      await writer.delete({
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        namespace: ns,
        name: consortiumObjectNames.validatorPdb,
      });
    this.consortiumMemo.set(cid, memo);
  }

  private async reconcileNode(r: NodeRef): Promise<void> {
    const { state, opts } = this.d;
    const spec = state.spec(r);
    if (spec) {
      await this.reconcileConsortium(spec.consortiumId);
      const namespace = this.nsOf(spec.consortiumId);
      const ctx: BuildContext = {
        opts,
        namespace,
        serviceMonitorAvailable: await this.d.serviceMonitors.available(),
        tls: await this.d.certificates.forNode(spec, namespace, opts),
      };
      try {
        for (const m of buildNodeObjects(spec, ctx)) await this.d.writer.apply(m);
      } catch (err) {
        // A namespace deleted behind our back: re-create it on the retry.
        if (err instanceof ConsortiaError && err.details?.['status'] === 404)
          this.consortiumMemo.delete(spec.consortiumId);
        throw err;
      }
      return;
    }
    const ref = state.deletion(r);
    if (ref) {
      await this.deleteNodeObjects(ref);
      state.removed(ref);
      this.d.certificates.forget(ref);
      this.d.onNodeDeleted(ref);
      this.d.enqueue(consortiumRequest(ref.consortiumId));
    }
    // Neither desired nor being deleted: an orphan (e.g. objects left by someone else); leave it.
  }

  /** StatefulSet first (stops the pod), then Services and pods/PVCs by label, the ConfigMap (our record of desire) last. */
  private async deleteNodeObjects(ref: NodeRef): Promise<void> {
    const { client, opts, writer } = this.d;
    const ns = this.nsOf(ref.consortiumId);
    const names = nodeObjectNames(ref.nodeId);
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: names.configMap };
    // Mark the ConfigMap first so that a restart mid-deletion finishes the deletion instead of re-creating.
    try {
      await client.objects.patch(
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: names.configMap, namespace: ns, annotations: { [DELETING_ANNOTATION]: 'true' } },
        },
        undefined,
        undefined,
        opts.fieldManager,
        undefined,
        'application/merge-patch+json',
      );
    } catch {
      // absent ConfigMap: nothing to mark
    }
    await writer.delete({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: ns, name: names.statefulSet });
    for (const name of [names.headlessService, names.clientService, names.externalP2pService]) {
      await writer.delete({ apiVersion: 'v1', kind: 'Service', namespace: ns, name });
    }
    await writer.delete({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: names.adminSecret });
    await writer.delete({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: names.keySecret });
    await writer.delete({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: names.tlsSecret });
    if (await this.d.serviceMonitors.available()) {
      await writer.delete({
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'ServiceMonitor',
        namespace: ns,
        name: names.serviceMonitor,
      });
    }
    const selector = Object.entries(nodeSelectorLabels(ref.nodeId, ref.consortiumId))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    // Normally the StatefulSet controller / garbage collector removes the pod; do it explicitly so nothing lingers.
    for (const pod of await client.list<V1Pod>('v1', 'Pod', ns, selector)) {
      await writer.delete({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: pod.metadata?.name ?? '' });
    }
    if (opts.pvcPolicy === 'delete') {
      for (const pvc of await client.list('v1', 'PersistentVolumeClaim', ns, selector)) {
        await writer.delete({
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          namespace: ns,
          name: pvc.metadata?.name ?? '',
        });
      }
    }
    await writer.delete(cm);
  }
}
