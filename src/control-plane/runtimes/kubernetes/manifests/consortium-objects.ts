import { ANNOTATION, LABEL, consortiumLabels, consortiumObjectNames, labelValue } from '../names.js';
import type { KubernetesRuntimeOptions } from '../options.js';
import type { Manifest } from './types.js';

/** Largest f with n >= 3f + 1: validators that may be down while 2f+1 still commit. */
export function faultTolerance(validators: number): number {
  return validators <= 0 ? 0 : Math.floor((validators - 1) / 3);
}

export function buildNamespace(namespace: string, consortiumId: string): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: namespace,
      labels: {
        ...consortiumLabels(consortiumId),
        // Node pods satisfy the restricted Pod Security Standard; enforce it.
        'pod-security.kubernetes.io/enforce': 'restricted',
      },
      annotations: { [ANNOTATION.consortiumId]: consortiumId },
    },
  };
}

/**
 * Only this consortium's node pods (and the listed external CIDRs: peers in other clusters) reach
 * the P2P port; the HTTP API stays reachable for the control plane and clients.
 */
export function buildNetworkPolicy(namespace: string, consortiumId: string, opts: KubernetesRuntimeOptions): Manifest {
  const members = { matchLabels: { [LABEL.consortium]: labelValue(consortiumId), [LABEL.name]: 'consortia-node' } };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: consortiumObjectNames.networkPolicy,
      namespace,
      labels: consortiumLabels(consortiumId),
      annotations: { [ANNOTATION.consortiumId]: consortiumId },
    },
    spec: {
      podSelector: members,
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [{ podSelector: members }, ...opts.p2pAllowedCidrs.map((cidr) => ({ ipBlock: { cidr } }))],
          ports: [{ protocol: 'TCP', port: opts.ports.p2p }],
        },
        { ports: [{ protocol: 'TCP', port: opts.ports.api }] },
      ],
    },
  };
}

/** Keeps validator quorum during voluntary disruptions (drains): at most f validators down. */
export function buildValidatorPdb(namespace: string, consortiumId: string, validators: number): Manifest | undefined {
  if (validators <= 0) return undefined;
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: {
      name: consortiumObjectNames.validatorPdb,
      namespace,
      labels: consortiumLabels(consortiumId),
      annotations: { [ANNOTATION.consortiumId]: consortiumId },
    },
    spec: {
      maxUnavailable: faultTolerance(validators),
      selector: { matchLabels: { [LABEL.consortium]: labelValue(consortiumId), [LABEL.role]: 'validator' } },
    },
  };
}
