import type { KubernetesObject } from '@kubernetes/client-node';
import type { WatchEvent, WatchedKind } from './informers.js';
import { ANNOTATION } from './names.js';
import { consortiumRequest, nodeRequest, type ReconcileRequest } from './reconcile-request.js';

/** What the mapping reads of the runtime: which consortia it runs, and which states it wrote itself. */
export interface EventMappingView {
  hasNodes(consortiumId: string): boolean;
  isOwnWrite(kind: WatchedKind, o: KubernetesObject): boolean;
}

/**
 * The request an owned object belongs to, by the annotations the manifests put on it: a node's
 * objects carry its consortium and node ids; a consortium's NetworkPolicy and PDB only its
 * consortium id (and only consortia this runtime runs nodes of are reconciled).
 */
export function requestForObject(
  kind: WatchedKind,
  o: KubernetesObject,
  view: Pick<EventMappingView, 'hasNodes'>,
): ReconcileRequest | undefined {
  const a = o.metadata?.annotations ?? {};
  const cid = a[ANNOTATION.consortiumId];
  const nid = a[ANNOTATION.nodeId];
  if (cid && nid) return nodeRequest({ consortiumId: cid, nodeId: nid });
  if (cid && (kind === 'NetworkPolicy' || kind === 'PodDisruptionBudget'))
    return view.hasNodes(cid) ? consortiumRequest(cid) : undefined;
  return undefined;
}

/**
 * Maps a watch event to the request to reconcile, or none: pods are status only (the StatefulSet
 * controller's), and our own writes come back as events, so only deletions and changes we did not
 * make (drift, or first sight after a start) are acted on.
 */
export function requestForEvent(
  kind: WatchedKind,
  event: WatchEvent,
  o: KubernetesObject,
  view: EventMappingView,
): ReconcileRequest | undefined {
  if (kind === 'Pod') return undefined;
  const request = requestForObject(kind, o, view);
  if (!request) return undefined;
  if (event !== 'delete' && view.isOwnWrite(kind, o)) return undefined;
  return request;
}
