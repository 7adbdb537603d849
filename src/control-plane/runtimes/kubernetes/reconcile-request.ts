import type { NodeSpec } from '../runtime.js';

export type NodeRef = Pick<NodeSpec, 'nodeId' | 'consortiumId'>;

/**
 * What the Kubernetes runtime's reconcile loop works on: one node's objects (StatefulSet,
 * Services, ConfigMap, Secret, ServiceMonitor), or one consortium's shared objects (Namespace,
 * NetworkPolicy, validator PodDisruptionBudget).
 */
export type ReconcileRequest =
  | { kind: 'node'; consortiumId: string; nodeId: string }
  | { kind: 'consortium'; consortiumId: string };

export const nodeRequest = (r: NodeRef): ReconcileRequest => ({
  kind: 'node',
  consortiumId: r.consortiumId,
  nodeId: r.nodeId,
});
export const consortiumRequest = (consortiumId: string): ReconcileRequest => ({ kind: 'consortium', consortiumId });

/** The work queue's key of a request: one item per node, one per consortium. */
export function requestKey(r: ReconcileRequest): string {
  return r.kind === 'node'
    ? `node:${JSON.stringify([r.consortiumId, r.nodeId])}`
    : `consortium:${JSON.stringify([r.consortiumId])}`;
}

/** A map keyed by node (consortium id + node id). */
export class NodeMap<V> {
  private readonly m = new Map<string, V>();
  private static key(r: NodeRef): string {
    return JSON.stringify([r.consortiumId, r.nodeId]);
  }
  get(r: NodeRef): V | undefined {
    return this.m.get(NodeMap.key(r));
  }
  has(r: NodeRef): boolean {
    return this.m.has(NodeMap.key(r));
  }
  set(r: NodeRef, v: V): void {
    this.m.set(NodeMap.key(r), v);
  }
  delete(r: NodeRef): boolean {
    return this.m.delete(NodeMap.key(r));
  }
  values(): IterableIterator<V> {
    return this.m.values();
  }
}
