/**
 * Key providers: where the platform admin lets nodes keep their keys (control-plane config
 * `keyProviders`), and the choice a node request makes among them. A node key in a provider never
 * leaves it: the node generates (PKCS#11) or opens (AWS KMS) it there and only its public key and
 * proof of possession come out, so the key ceremony is the same as for a key file.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { Type, type Static } from 'typebox';
import { CommonCodes, ConsortiaError } from '../../lib/errors.js';
import type { NodeKeySpec, NodeRole } from '../runtimes/runtime.js';
import { CpCodes } from './errors.js';

/** Longest PKCS#11 label or KMS key id a node request may carry (KMS ARNs are about 100 characters). */
export const NODE_KEY_FIELD_CHARS_MAX = 256;
/** Longest PIN read from a provider's pinFile (a PKCS#11 PIN is a short secret; a larger file is a mistake). */
const PIN_BYTES_MAX = 4096;

/** Volume names and mount paths the node pod uses itself (runtimes/kubernetes/manifests/node-objects.ts, node-config.ts). */
const NODE_POD_VOLUMES: ReadonlySet<string> = new Set(['data', 'config', 'admin', 'tls', 'tmp', 'key']);
const NODE_POD_PATHS = [
  '/data',
  '/etc/consortia',
  '/etc/consortia-admin',
  '/etc/consortia-tls',
  '/etc/consortia-key',
  '/tmp',
];

const ProviderName = Type.String({ pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' });
const KubeObject = Type.Record(Type.String(), Type.Unknown());

/**
 * How a pod of the Kubernetes runtime reaches the provider: the volumes holding the PKCS#11 module
 * and its configuration (hostPath, csi, ...), environment such as SOFTHSM2_CONF, and the service
 * account whose cloud identity (EKS Pod Identity or IRSA) may use the KMS keys.
 */
export const KeyProviderPodSchema = Type.Object(
  {
    volumes: Type.Optional(Type.Array(KubeObject, { maxItems: 16 })),
    /**
     * PVCs the runtime creates in each consortium namespace that uses the provider (a namespace the
     * control plane manages: nobody else may write there), for `volumes` to name by claimName.
     */
    volumeClaims: Type.Optional(
      Type.Array(Type.Object({ name: ProviderName, spec: KubeObject }, { additionalProperties: false }), {
        maxItems: 4,
      }),
    ),
    volumeMounts: Type.Optional(Type.Array(KubeObject, { maxItems: 16 })),
    env: Type.Optional(Type.Array(Type.Object({ name: Type.String({ minLength: 1 }), value: Type.String() }))),
    serviceAccountName: Type.Optional(ProviderName),
    /**
     * Annotations of that service account, which the runtime creates in each consortium namespace:
     * e.g. eks.amazonaws.com/role-arn for IRSA, whose role trust may match every consortium namespace
     * (system:serviceaccount:<namespacePrefix>*:<name>).
     */
    serviceAccountAnnotations: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: false },
);
export type KeyProviderPod = Static<typeof KeyProviderPodSchema>;

const Pkcs11Provider = Type.Object(
  {
    name: ProviderName,
    backend: Type.Literal('pkcs11'),
    /** Absolute path of the PKCS#11 module as the node sees it (in a pod: under one of kubernetes.volumeMounts). */
    module: Type.String({ minLength: 1 }),
    tokenLabel: Type.String({ minLength: 1 }),
    /** Where the control plane reads the token's user PIN at start; it hands it to each node as a 0600 file or a Secret. */
    pinEnv: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' })),
    pinFile: Type.Optional(Type.String({ minLength: 1 })),
    kubernetes: Type.Optional(KeyProviderPodSchema),
  },
  { additionalProperties: false },
);
const AwsKmsProvider = Type.Object(
  {
    name: ProviderName,
    backend: Type.Literal('aws-kms'),
    region: Type.String({ minLength: 1 }),
    /** A KMS-compatible endpoint instead of AWS's (a VPC endpoint). */
    endpoint: Type.Optional(Type.String({ pattern: '^https?://' })),
    kubernetes: Type.Optional(KeyProviderPodSchema),
  },
  { additionalProperties: false },
);
export const KeyProviderSchema = Type.Union([Pkcs11Provider, AwsKmsProvider]);
export type KeyProviderConfig = Static<typeof KeyProviderSchema>;

/** A provider as the control plane holds it after start: its PIN read once, never written back. */
export type KeyProvider = KeyProviderConfig & { pin?: string };

/** The `key` of a node request: a provider by name, and the key inside it. */
export const NodeKeyRequestSchema = Type.Object(
  {
    provider: ProviderName,
    keyLabel: Type.Optional(Type.String({ minLength: 1, maxLength: NODE_KEY_FIELD_CHARS_MAX })),
    keyId: Type.Optional(Type.String({ minLength: 1, maxLength: NODE_KEY_FIELD_CHARS_MAX })),
  },
  { additionalProperties: false },
);
export type NodeKeyRequest = Static<typeof NodeKeyRequestSchema>;

/** What a node record keeps of its key's place (no secret): shown in the API, turned into NodeSpec.key. */
export interface NodeKeyChoice {
  provider: string;
  backend: 'pkcs11' | 'aws-kms';
  keyLabel?: string;
  keyId?: string;
}

function invalidConfig(message: string): never {
  throw new ConsortiaError(CommonCodes.INVALID_CONFIG, `invalid configuration: ${message}`);
}

/** A provider's pod additions must not shadow the node's own volumes and paths, and mount only their own volumes. */
function checkPod(pod: KeyProviderPod, at: string): void {
  const names = new Set<string>();
  for (const [i, c] of (pod.volumeClaims ?? []).entries())
    if (c.name.startsWith('data-'))
      invalidConfig(`${at}.volumeClaims[${i}].name: data-* is the node volumes' prefix (data-<node>-0)`);
  for (const [i, v] of (pod.volumes ?? []).entries()) {
    const name = v['name'];
    if (typeof name !== 'string' || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name))
      invalidConfig(`${at}.volumes[${i}].name: must be a DNS label`);
    if (NODE_POD_VOLUMES.has(name) || names.has(name))
      invalidConfig(
        `${at}.volumes[${i}].name: ${name} is taken (the node pod uses ${[...NODE_POD_VOLUMES].join(', ')})`,
      );
    names.add(name);
  }
  for (const [i, m] of (pod.volumeMounts ?? []).entries()) {
    const name = m['name'];
    const path = m['mountPath'];
    if (typeof name !== 'string' || !names.has(name))
      invalidConfig(`${at}.volumeMounts[${i}].name: must name one of this provider's volumes`);
    if (typeof path !== 'string' || !isAbsolute(path))
      invalidConfig(`${at}.volumeMounts[${i}].mountPath: must be absolute`);
    const under = (a: string, b: string): boolean => a === b || a.startsWith(b.endsWith('/') ? b : `${b}/`);
    if (NODE_POD_PATHS.some((own) => under(path, own) || under(own, path)))
      invalidConfig(`${at}.volumeMounts[${i}].mountPath: ${path} overlaps a path of the node pod`);
  }
  for (const [i, e] of (pod.env ?? []).entries())
    if (e.name === 'NODE_EXTRA_CA_CERTS' || e.name.startsWith('CONSORTIA_'))
      invalidConfig(`${at}.env[${i}].name: ${e.name} is set by the runtime`);
}

/** Checks the providers and reads their PINs, once at start; an unusable provider stops the start naming it. */
export function loadKeyProviders(configs: KeyProviderConfig[], env: NodeJS.ProcessEnv): Map<string, KeyProvider> {
  const out = new Map<string, KeyProvider>();
  for (const [i, p] of configs.entries()) {
    const at = `keyProviders[${i}] (${p.name})`;
    if (out.has(p.name)) invalidConfig(`${at}: the name is used twice`);
    if (p.kubernetes !== undefined) checkPod(p.kubernetes, `${at}.kubernetes`);
    if (p.backend !== 'pkcs11') {
      out.set(p.name, p);
      continue;
    }
    if (!isAbsolute(p.module)) invalidConfig(`${at}.module: must be an absolute path to the PKCS#11 library`);
    if ((p.pinEnv === undefined) === (p.pinFile === undefined))
      invalidConfig(`${at}: a pkcs11 provider needs exactly one of pinEnv or pinFile`);
    let pin: string | undefined;
    if (p.pinEnv !== undefined) {
      pin = env[p.pinEnv];
      if (pin === undefined || pin === '')
        invalidConfig(`${at}.pinEnv: the environment variable ${p.pinEnv} is not set`);
    } else {
      try {
        const bytes = readFileSync(p.pinFile!);
        if (bytes.length > PIN_BYTES_MAX) invalidConfig(`${at}.pinFile: ${p.pinFile} is over ${PIN_BYTES_MAX} bytes`);
        pin = bytes.toString('utf8').replace(/\r?\n$/, '');
      } catch (err) {
        if (err instanceof ConsortiaError) throw err;
        invalidConfig(`${at}.pinFile: cannot read ${p.pinFile}: ${(err as Error).message}`);
      }
      if (pin === '') invalidConfig(`${at}.pinFile: ${p.pinFile} is empty`);
    }
    out.set(p.name, { ...p, pin });
  }
  return out;
}

function invalidKey(message: string, field: string): never {
  throw new ConsortiaError(CpCodes.VALIDATION_FAILED, message, { field });
}

/**
 * The key place a node request asks for, checked against the configured providers. A PKCS#11 key
 * defaults to the label `consortia-<nodeId>` (generated in the token on the node's first start); a
 * KMS key exists already (created by the organization, its key policy letting the node's role sign).
 */
export function chooseNodeKey(
  req: NodeKeyRequest,
  role: NodeRole,
  nodeId: string,
  providers: ReadonlyMap<string, KeyProvider>,
): NodeKeyChoice {
  const p = providers.get(req.provider);
  if (!p) {
    const known = [...providers.keys()];
    invalidKey(
      `key.provider ${JSON.stringify(req.provider)} is not configured on this platform` +
        (known.length > 0 ? ` (configured: ${known.join(', ')})` : ' (none is configured: keyProviders)'),
      'key.provider',
    );
  }
  if (role === 'light') invalidKey('a light node signs nothing: it keeps no key in a provider', 'key');
  if (p.backend === 'pkcs11') {
    if (req.keyId !== undefined)
      invalidKey(`key.keyId is for aws-kms keys; ${p.name} is a pkcs11 provider`, 'key.keyId');
    return { provider: p.name, backend: 'pkcs11', keyLabel: req.keyLabel ?? `consortia-${nodeId}` };
  }
  if (req.keyLabel !== undefined)
    invalidKey(`key.keyLabel is for pkcs11 keys; ${p.name} is an aws-kms provider`, 'key.keyLabel');
  if (req.keyId === undefined)
    invalidKey(`key.keyId is required: the KMS key (id, ARN or alias) in ${p.name}`, 'key.keyId');
  return { provider: p.name, backend: 'aws-kms', keyId: req.keyId };
}

/**
 * The runtime's view of a node's key: the choice joined with its provider as configured now. A
 * provider removed from the config since the node was requested fails the reconcile of that node
 * with KEY_PROVIDER_MISSING, shown in its status, rather than starting it with another key.
 */
export function nodeKeySpec(
  choice: NodeKeyChoice,
  providers: ReadonlyMap<string, KeyProvider>,
): { key: NodeKeySpec; pin?: string } {
  const p = providers.get(choice.provider);
  if (!p || p.backend !== choice.backend)
    throw new ConsortiaError(
      CpCodes.KEY_PROVIDER_MISSING,
      `key provider ${choice.provider} (${choice.backend}) is no longer configured (keyProviders)`,
    );
  const pod = p.kubernetes !== undefined ? { kubernetes: p.kubernetes } : {};
  if (p.backend === 'pkcs11')
    return {
      key: {
        backend: 'pkcs11',
        provider: p.name,
        module: p.module,
        tokenLabel: p.tokenLabel,
        keyLabel: choice.keyLabel!,
        ...pod,
      },
      ...(p.pin !== undefined ? { pin: p.pin } : {}),
    };
  return {
    key: {
      backend: 'aws-kms',
      provider: p.name,
      keyId: choice.keyId!,
      region: p.region,
      ...(p.endpoint !== undefined ? { endpoint: p.endpoint } : {}),
      ...pod,
    },
  };
}
