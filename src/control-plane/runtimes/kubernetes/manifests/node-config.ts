import { createHash } from 'node:crypto';
import { nodeKeyConfig } from '../../node-key-config.js';
import type { NodeSpec } from '../../runtime.js';
import type { KubernetesRuntimeOptions } from '../options.js';
import { nodeObjectNames } from '../names.js';

/** Paths inside the node container. The key lives on the PVC: generated there on first boot, never exported. */
export const POD_PATHS = {
  dataDir: '/data',
  keyFile: '/data/node.key',
  configDir: '/etc/consortia',
  configFile: '/etc/consortia/node.json',
  genesisFile: '/etc/consortia/genesis.json',
  /** The per-node admin Secret, mounted read-only (ADMIN_SECRET_KEY inside). */
  adminDir: '/etc/consortia-admin',
  adminTokenFile: '/etc/consortia-admin/admin-token',
  /** The per-node TLS Secret (kubernetes.io/tls + ca.crt), mounted read-only. */
  tlsDir: '/etc/consortia-tls',
  tlsCertFile: '/etc/consortia-tls/tls.crt',
  tlsKeyFile: '/etc/consortia-tls/tls.key',
  tlsCaFile: '/etc/consortia-tls/ca.crt',
  /** The per-node key Secret (the PKCS#11 PIN of its key's token), mounted read-only. */
  keyDir: '/etc/consortia-key',
  keyPinFile: '/etc/consortia-key/pin',
} as const;

/** Key of the PIN in the node's key Secret (the file name under POD_PATHS.keyDir). */
export const KEY_PIN_SECRET_KEY = 'pin';

/** Keys of the node's TLS Secret (type kubernetes.io/tls, plus the node CA as cert-manager names it). */
export const TLS_SECRET_KEYS = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' } as const;

/** Key of the admin token in the node's admin Secret (the file name under POD_PATHS.adminDir). */
export const ADMIN_SECRET_KEY = 'admin-token';

/** The P2P address a node advertises: a template (multi-cluster) or its stable in-cluster DNS name. */
export function advertisedP2pAddress(
  spec: Pick<NodeSpec, 'nodeId' | 'consortiumId'>,
  namespace: string,
  opts: KubernetesRuntimeOptions,
): string {
  const names = nodeObjectNames(spec.nodeId);
  if (opts.p2pAdvertiseTemplate) {
    return opts.p2pAdvertiseTemplate
      .replaceAll('{node}', names.statefulSet)
      .replaceAll('{namespace}', namespace)
      .replaceAll('{consortium}', spec.consortiumId);
  }
  return `${names.pod}.${names.headlessService}.${namespace}.svc.${opts.clusterDomain}:${opts.ports.p2p}`;
}

/** In-cluster base URL of a node's HTTPS API (client Service; its certificate names it, see node-tls.ts). */
export function clientServiceUrl(nodeId: string, namespace: string, opts: KubernetesRuntimeOptions): string {
  return `https://${nodeObjectNames(nodeId).clientService}.${namespace}.svc.${opts.clusterDomain}:${opts.ports.api}`;
}

/** The node process config file (src/node/config.ts), without secrets. */
export function buildNodeConfig(
  spec: NodeSpec,
  namespace: string,
  opts: KubernetesRuntimeOptions,
): Record<string, unknown> {
  const cfg: Record<string, unknown> = {
    role: spec.role,
    chainId: spec.chainId,
    dataDir: POD_PATHS.dataDir,
    keyFile: POD_PATHS.keyFile,
    p2pListen: `0.0.0.0:${opts.ports.p2p}`,
    p2pAdvertise: advertisedP2pAddress(spec, namespace, opts),
    apiListen: `0.0.0.0:${opts.ports.api}`,
    peers: spec.peers.map((p) => ({ publicKey: p.publicKey, address: p.address })),
    logLevel: opts.logLevel,
    // Always the same path (the Secret's content is not part of the config hash): the node reads it per request.
    adminTokenFile: POD_PATHS.adminTokenFile,
    // HTTPS with the certificate the runtime issued from the control plane's node CA (node-tls.ts),
    // mounted from the node's TLS Secret; the same paths always, so a re-issued certificate does
    // not change this config (docs/trust-model.md#transport-security).
    tls: { mode: 'on', certFile: POD_PATHS.tlsCertFile, keyFile: POD_PATHS.tlsKeyFile, caFile: POD_PATHS.tlsCaFile },
  };
  if (spec.expectedGenesis !== undefined) cfg['expectedGenesis'] = spec.expectedGenesis;
  if (spec.mode === 'run') cfg['genesisFile'] = POD_PATHS.genesisFile;
  if (spec.tier.retentionBlocks !== undefined) cfg['retentionBlocks'] = spec.tier.retentionBlocks;
  if (spec.tier.retentionSeconds !== undefined) cfg['retentionSeconds'] = spec.tier.retentionSeconds;
  if (spec.tier.followAccounts !== undefined) cfg['followAccounts'] = spec.tier.followAccounts;
  if (spec.syncFrom?.length) cfg['syncFrom'] = spec.syncFrom;
  // A pkcs11 key always names the PIN file: a spec restored from its ConfigMap record carries no
  // PIN, and must give the same config (the key Secret it made before stays).
  if (spec.key !== undefined)
    cfg['key'] = nodeKeyConfig(spec.key, spec.key.backend === 'pkcs11' ? POD_PATHS.keyPinFile : undefined);
  return cfg;
}

/** ConfigMap data: node.json and, once sealed, genesis.json. */
export function buildConfigData(
  spec: NodeSpec,
  namespace: string,
  opts: KubernetesRuntimeOptions,
): Record<string, string> {
  const data: Record<string, string> = { 'node.json': JSON.stringify(buildNodeConfig(spec, namespace, opts), null, 2) };
  if (spec.mode === 'run' && spec.genesis !== undefined) data['genesis.json'] = JSON.stringify(spec.genesis);
  return data;
}

/** Hash of the config content, put on the pod template so a config change rolls the pod. */
export function configHash(data: Record<string, string>): string {
  const h = createHash('sha256');
  for (const k of Object.keys(data).sort())
    h.update(k)
      .update('\0')
      .update(data[k] ?? '')
      .update('\0');
  return h.digest('hex').slice(0, 16);
}
