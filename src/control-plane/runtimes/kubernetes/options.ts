import { ConsortiaError } from '../../../lib/errors.js';
import type { NodeRole } from '../runtime.js';
import { KubernetesCodes } from './errors.js';

/** Storage per tier: PVC storage class and default size (NodeResources.storage overrides size). */
export interface TierStorage {
  storageClass?: string; // omitted -> cluster default storage class
  size: string; // Kubernetes quantity
}

export type PvcDeletionPolicy = 'delete' | 'retain';

export interface KubernetesRuntimeOptions {
  /** Kubeconfig YAML text. Exactly one of kubeconfig / inCluster. */
  kubeconfig?: string;
  inCluster?: boolean;
  /** Namespace per consortium: `<namespacePrefix><consortiumId>` (sanitized). */
  namespacePrefix: string;
  /** Node image, used when a NodeSpec carries none. */
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  storage: Record<NodeRole, TierStorage>;
  /** What happens to a node's PVC when the node is deleted. */
  pvcPolicy: PvcDeletionPolicy;
  ports: { p2p: number; api: number };
  /** Cluster DNS domain used to build in-cluster advertised addresses. */
  clusterDomain: string;
  /**
   * Multi-cluster: the P2P address a node advertises to peers. `{node}`, `{namespace}`,
   * `{consortium}` are substituted, e.g. "{node}.p2p.eu.example.com:26656". Default: the
   * pod's stable DNS name behind the headless Service.
   */
  p2pAdvertiseTemplate?: string;
  /** When set, an extra Service of this type exposes P2P outside the cluster (multi-cluster). */
  p2pExternalServiceType?: 'LoadBalancer' | 'NodePort';
  /** Extra CIDRs (peers in other clusters) allowed to reach the P2P port. */
  p2pAllowedCidrs: string[];
  /** How the control plane reaches a node's HTTP API: the Service DNS name (in-cluster) or the API server proxy. */
  nodeAccess: 'direct' | 'proxy';
  /** Restore objects that someone edited imperatively (Update operations). Apply-owned fields are never forced. */
  driftRepair: 'reclaim-updates' | 'never';
  /** Node process user id (non-root). */
  runAsUser: number;
  logLevel: string;
  /** Requeue backoff bounds. */
  backoff: { baseMs: number; maxMs: number };
  /** Re-check for the ServiceMonitor CRD at most this often. */
  crdCheckIntervalMs: number;
  /**
   * Extra labels on every ServiceMonitor the runtime creates, so that a Prometheus'
   * serviceMonitorSelector picks them up (e.g. `release: kube-prometheus-stack`). The runtime's own
   * labels win on a clash (it finds its objects by them). The Helm chart fills it from serviceMonitor.labels.
   */
  serviceMonitorLabels: Record<string, string>;
  /** Field manager for server-side apply. */
  fieldManager: string;
}

export const DEFAULT_OPTIONS: Omit<KubernetesRuntimeOptions, 'kubeconfig' | 'inCluster'> = {
  namespacePrefix: 'consortia-',
  image: 'ghcr.io/consortia/node:latest',
  imagePullPolicy: 'IfNotPresent',
  storage: {
    validator: { storageClass: 'consortia-validator', size: '50Gi' },
    super: { storageClass: 'consortia-archive', size: '500Gi' },
    ordinary: { storageClass: 'consortia-standard', size: '50Gi' },
    light: { storageClass: 'consortia-standard', size: '5Gi' },
  },
  pvcPolicy: 'retain',
  ports: { p2p: 26656, api: 26657 },
  clusterDomain: 'cluster.local',
  p2pAllowedCidrs: [],
  nodeAccess: 'direct',
  driftRepair: 'reclaim-updates',
  runAsUser: 10001,
  logLevel: 'info',
  backoff: { baseMs: 500, maxMs: 60_000 },
  crdCheckIntervalMs: 60_000,
  serviceMonitorLabels: {},
  fieldManager: 'consortia',
};

export type KubernetesRuntimeInput = Partial<Omit<KubernetesRuntimeOptions, 'storage' | 'ports' | 'backoff'>> & {
  storage?: Partial<Record<NodeRole, Partial<TierStorage>>>;
  /** Shorthand: storage class per tier (sizes keep their defaults). */
  storageClasses?: Partial<Record<NodeRole, string>>;
  ports?: Partial<KubernetesRuntimeOptions['ports']>;
  backoff?: Partial<KubernetesRuntimeOptions['backoff']>;
};

const DNS_PREFIX = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?-?)?$/;
/** Kubernetes label key (optional DNS-subdomain prefix, name <= 63) and value (<= 63). */
const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?$/;

/** Merges defaults and validates; throws K8S_INVALID_OPTIONS with the offending key. */
export function resolveOptions(input: KubernetesRuntimeInput): KubernetesRuntimeOptions {
  const bad = (key: string, why: string): never => {
    throw new ConsortiaError(KubernetesCodes.K8S_INVALID_OPTIONS, `kubernetes runtime option ${key}: ${why}`, { key });
  };
  const roles: NodeRole[] = ['validator', 'super', 'ordinary', 'light'];
  const storage = {} as Record<NodeRole, TierStorage>;
  for (const r of roles) {
    const d = DEFAULT_OPTIONS.storage[r];
    const o = input.storage?.[r] ?? {};
    const cls = input.storageClasses?.[r] ?? o.storageClass ?? d.storageClass;
    storage[r] = { size: o.size ?? d.size, ...(cls ? { storageClass: cls } : {}) };
    if (!QUANTITY.test(storage[r].size)) bad(`storage.${r}.size`, `not a quantity: ${storage[r].size}`);
  }
  const { storage: _s, storageClasses: _c, ports, backoff, ...rest } = input;
  const opts: KubernetesRuntimeOptions = {
    ...DEFAULT_OPTIONS,
    ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)),
    storage,
    ports: { ...DEFAULT_OPTIONS.ports, ...ports },
    backoff: { ...DEFAULT_OPTIONS.backoff, ...backoff },
  };
  if (opts.kubeconfig && opts.inCluster) bad('kubeconfig', 'give either kubeconfig or inCluster, not both');
  if (!DNS_PREFIX.test(opts.namespacePrefix) || opts.namespacePrefix.length > 30)
    bad('namespacePrefix', 'must be a short DNS-1123 prefix');
  for (const [k, p] of Object.entries(opts.ports))
    if (!Number.isInteger(p) || p < 1 || p > 65535) bad(`ports.${k}`, 'not a port');
  if (!opts.image) bad('image', 'required');
  if (opts.backoff.baseMs <= 0 || opts.backoff.maxMs < opts.backoff.baseMs) bad('backoff', 'need 0 < baseMs <= maxMs');
  const sm = opts.serviceMonitorLabels as unknown;
  if (typeof sm !== 'object' || sm === null || Array.isArray(sm))
    bad('serviceMonitorLabels', 'must be a map of label names to values');
  for (const [k, v] of Object.entries(opts.serviceMonitorLabels)) {
    if (!LABEL_KEY.test(k) || k.length > 316) bad(`serviceMonitorLabels.${k}`, 'not a label name');
    if (typeof v !== 'string' || !LABEL_VALUE.test(v))
      bad(`serviceMonitorLabels.${k}`, `not a label value: ${String(v)}`);
  }
  return opts;
}
