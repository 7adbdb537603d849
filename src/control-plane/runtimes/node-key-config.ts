import type { NodeKeySpec } from './runtime.js';

/**
 * The `key` section of a node config (src/node/config.ts) for a key in a provider; `pinFile` is
 * where the runtime put the PIN it delivers (NodeSpec.keyPin). Absent spec key: no section, the key file.
 */
export function nodeKeyConfig(key: NodeKeySpec, pinFile: string | undefined): Record<string, unknown> {
  if (key.backend === 'pkcs11')
    return {
      backend: 'pkcs11',
      module: key.module,
      tokenLabel: key.tokenLabel,
      keyLabel: key.keyLabel,
      ...(pinFile !== undefined ? { pinFile } : {}),
    };
  return {
    backend: 'aws-kms',
    keyId: key.keyId,
    region: key.region,
    ...(key.endpoint !== undefined ? { endpoint: key.endpoint } : {}),
  };
}
