import { createHash } from 'node:crypto';
import type { NodeRole } from '../runtime.js';

/**
 * Kubernetes names and labels derived from control-plane ids. Ids may contain characters or
 * lengths Kubernetes rejects, so names are sanitized and, when shortened, suffixed with a hash
 * so that two ids never map to the same name. The original ids travel in annotations.
 */
export const MANAGED_BY = 'consortia';
export const LABEL = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
  consortium: 'consortia.io/consortium',
  org: 'consortia.io/org',
  role: 'consortia.io/role',
  node: 'consortia.io/node',
  /** On a key provider's PVC (manifests/node-objects.ts buildKeyProviderClaims). */
  keyProvider: 'consortia.io/key-provider',
} as const;
export const ANNOTATION = {
  nodeId: 'consortia.io/node-id',
  consortiumId: 'consortia.io/consortium-id',
  orgId: 'consortia.io/org-id',
  configHash: 'consortia.io/config-hash',
  generation: 'consortia.io/spec-generation',
  /** Node CA + certificate names of the node's TLS Secret (node-tls.ts): a change restarts the pod. */
  tlsDigest: 'consortia.io/tls-digest',
} as const;
/** Selector of everything this runtime owns. */
export const MANAGED_SELECTOR = `${LABEL.managedBy}=${MANAGED_BY}`;

function shortHash(s: string, n = 6): string {
  return createHash('sha256').update(s).digest('hex').slice(0, n);
}

/** DNS-1123 label (<= max chars): lowercase alnum and '-', alnum at both ends. */
export function dnsLabel(id: string, max = 63): string {
  const s = id
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (s === id && s.length > 0 && s.length <= max) return s;
  const head = s.slice(0, max - 7).replace(/-+$/, '');
  return `${head || 'x'}-${shortHash(id)}`;
}

/** Label value: <= 63 chars of [A-Za-z0-9._-], alnum at both ends. */
export function labelValue(v: string): string {
  let s = v.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  if (s.length > 63) s = `${s.slice(0, 56).replace(/[^A-Za-z0-9]+$/, '')}-${shortHash(v)}`;
  return s || 'x';
}

export function namespaceName(prefix: string, consortiumId: string): string {
  return dnsLabel(`${prefix}${consortiumId}`);
}

/** Base name of one node's objects (StatefulSet, Services, ConfigMap). Kept short: pod = <base>-0. */
export function nodeBaseName(nodeId: string): string {
  return dnsLabel(`node-${nodeId}`, 40);
}

export const nodeObjectNames = (nodeId: string) => {
  const base = nodeBaseName(nodeId);
  return {
    statefulSet: base,
    pod: `${base}-0`,
    headlessService: `${base}-p2p`,
    clientService: base,
    externalP2pService: `${base}-p2p-ext`,
    configMap: `${base}-config`,
    /** The node's admin credential (the node key never leaves the pod). */
    adminSecret: `${base}-admin`,
    /** The node's HTTPS certificate and key, issued by the control plane's node CA (node-tls.ts). */
    tlsSecret: `${base}-tls`,
    /** The PIN of the node key's PKCS#11 token (domain/key-providers.ts), when its key is in one. */
    keySecret: `${base}-key`,
    serviceMonitor: base,
    pvcTemplate: 'data',
    pvc: `data-${base}-0`,
  };
};

export const consortiumObjectNames = {
  networkPolicy: 'consortia-nodes',
  validatorPdb: 'consortia-validators',
};

export interface NodeIdentityRef {
  nodeId: string;
  consortiumId: string;
  orgId: string;
  role: NodeRole;
}

export function consortiumLabels(consortiumId: string): Record<string, string> {
  return {
    [LABEL.partOf]: 'consortia',
    [LABEL.managedBy]: MANAGED_BY,
    [LABEL.consortium]: labelValue(consortiumId),
  };
}

/** Labels of every object of one node; the selector subset is stable across spec changes. */
export function nodeLabels(n: NodeIdentityRef): Record<string, string> {
  return {
    [LABEL.name]: 'consortia-node',
    [LABEL.instance]: nodeBaseName(n.nodeId),
    [LABEL.component]: n.role,
    ...consortiumLabels(n.consortiumId),
    [LABEL.org]: labelValue(n.orgId),
    [LABEL.role]: n.role,
    [LABEL.node]: labelValue(n.nodeId),
  };
}

/** Immutable selector of a node's pod (StatefulSet selector cannot change after creation). */
export function nodeSelectorLabels(nodeId: string, consortiumId: string): Record<string, string> {
  return {
    [LABEL.name]: 'consortia-node',
    [LABEL.consortium]: labelValue(consortiumId),
    [LABEL.node]: labelValue(nodeId),
  };
}

export function nodeAnnotations(n: NodeIdentityRef): Record<string, string> {
  return { [ANNOTATION.nodeId]: n.nodeId, [ANNOTATION.consortiumId]: n.consortiumId, [ANNOTATION.orgId]: n.orgId };
}
