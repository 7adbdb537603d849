/**
 * What a node whose key is in a key provider (src/control-plane/domain/key-providers.ts) adds to its
 * objects: the Secret with its token's PIN, the provider's PVCs and service account in the
 * consortium namespace, and the provider's volumes, mounts and env in its pod.
 */
import type { NodeSpec } from '../../runtime.js';
import { LABEL, consortiumLabels, labelValue, nodeAnnotations, nodeLabels, nodeObjectNames } from '../names.js';
import { KEY_PIN_SECRET_KEY, POD_PATHS } from './node-config.js';
import type { BuildContext, Manifest } from './types.js';

/**
 * The PIN of the node key's PKCS#11 token as a Secret, mounted read-only into the pod only. Like
 * the admin Secret, built only when the spec carries the PIN (a restored spec leaves it as it is).
 */
export function buildKeySecret(spec: NodeSpec, ctx: BuildContext): Manifest | undefined {
  if (spec.keyPin === undefined) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: nodeObjectNames(spec.nodeId).keySecret,
      namespace: ctx.namespace,
      labels: nodeLabels(spec),
      annotations: nodeAnnotations(spec),
    },
    type: 'Opaque',
    data: { [KEY_PIN_SECRET_KEY]: Buffer.from(spec.keyPin, 'utf8').toString('base64') },
  };
}

/**
 * The key provider's PVCs in the consortium namespace, shared by its nodes there: consortium labels
 * only (node labels would make every node's apply rewrite them), so removing one node keeps them.
 */
export function buildKeyProviderClaims(spec: NodeSpec, ctx: BuildContext): Manifest[] {
  return (spec.key?.kubernetes?.volumeClaims ?? []).map((c) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: c.name,
      namespace: ctx.namespace,
      labels: { ...consortiumLabels(spec.consortiumId), [LABEL.keyProvider]: labelValue(spec.key!.provider) },
    },
    spec: c.spec,
  }));
}

/** The key provider's service account in the consortium namespace (its cloud identity may use the KMS key). */
export function buildKeyProviderServiceAccount(spec: NodeSpec, ctx: BuildContext): Manifest | undefined {
  const pod = spec.key?.kubernetes;
  if (pod?.serviceAccountName === undefined) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      name: pod.serviceAccountName,
      namespace: ctx.namespace,
      labels: { ...consortiumLabels(spec.consortiumId), [LABEL.keyProvider]: labelValue(spec.key!.provider) },
      ...(pod.serviceAccountAnnotations !== undefined ? { annotations: pod.serviceAccountAnnotations } : {}),
    },
    // The node needs no Kubernetes API token; IRSA and Pod Identity mount their own.
    automountServiceAccountToken: false,
  };
}

/** What a key provider adds to the pod (domain/key-providers.ts): its volumes, mounts, env and service account. */
export function keyProviderPod(spec: NodeSpec): {
  volumes: Record<string, unknown>[];
  mounts: Record<string, unknown>[];
  env: { name: string; value: string }[];
  serviceAccountName?: string;
} {
  const pod = spec.key?.kubernetes;
  const pin = spec.key?.backend === 'pkcs11';
  return {
    volumes: [
      ...(pod?.volumes ?? []),
      ...(pin
        ? [
            {
              name: 'key',
              secret: {
                secretName: nodeObjectNames(spec.nodeId).keySecret,
                defaultMode: 0o440,
                items: [{ key: KEY_PIN_SECRET_KEY, path: KEY_PIN_SECRET_KEY }],
              },
            },
          ]
        : []),
    ],
    mounts: [
      ...(pod?.volumeMounts ?? []),
      ...(pin ? [{ name: 'key', mountPath: POD_PATHS.keyDir, readOnly: true }] : []),
    ],
    env: pod?.env ?? [],
    ...(pod?.serviceAccountName !== undefined ? { serviceAccountName: pod.serviceAccountName } : {}),
  };
}
