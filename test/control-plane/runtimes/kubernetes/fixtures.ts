import type { NodeSpec } from '../../../../src/control-plane/runtimes/runtime.js';
import { resolveOptions, type BuildContext } from '../../../../src/control-plane/runtimes/kubernetes/index.js';

export const opts = resolveOptions({
  namespacePrefix: 'consortia-',
  image: 'registry.example/node:1.0.0',
  storageClasses: { validator: 'fast-ssd', super: 'archive-hdd', ordinary: 'standard', light: 'standard' },
  storage: { validator: { size: '40Gi' }, super: { size: '1Ti' }, ordinary: { size: '30Gi' }, light: { size: '2Gi' } },
});

/** Fixed TLS material (the builders only copy it into the Secret), so snapshots stay stable; node-tls.test.ts issues real ones. */
export const tls = {
  cert: '-----BEGIN CERTIFICATE-----\nfixture-node-cert\n-----END CERTIFICATE-----\n',
  key: '-----BEGIN PRIVATE KEY-----\nfixture-node-key\n-----END PRIVATE KEY-----\n',
  ca: '-----BEGIN CERTIFICATE-----\nfixture-node-ca\n-----END CERTIFICATE-----\n',
  digest: '0123456789abcdef',
};

export const ctx: BuildContext = { opts, namespace: 'consortia-c1', serviceMonitorAvailable: true, tls };

export function spec(over: Partial<NodeSpec> = {}): NodeSpec {
  return {
    nodeId: 'n1',
    consortiumId: 'c1',
    chainId: 'chain-c1',
    orgId: 'org-a',
    role: 'validator',
    tier: {},
    resources: { cpu: '500m', memory: '512Mi' },
    mode: 'keygen',
    peers: [],
    generation: 1,
    ...over,
  };
}
