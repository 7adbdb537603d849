import { describe, expect, it } from 'vitest';
import { buildNodeConfig, nodePaths } from '../../../../src/control-plane/runtimes/local/node-config.js';
import type { NodeSpec } from '../../../../src/control-plane/runtimes/runtime.js';

const base: NodeSpec = {
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
};
const alloc = { host: '127.0.0.9', p2pPort: 26656, apiPort: 26657 };

describe('local runtime: the key section of a node config', () => {
  const paths = nodePaths('/var/consortia/nodes', 'c1', 'n1');

  it('is absent for a key file, and names the token and the 0600 PIN file for a pkcs11 key', () => {
    expect(buildNodeConfig(base, paths, alloc, 'info').key).toBeUndefined();
    const cfg = buildNodeConfig(
      {
        ...base,
        key: { backend: 'pkcs11', provider: 'hsm', module: '/usr/lib/x.so', tokenLabel: 't', keyLabel: 'k' },
        keyPin: '1234',
      },
      paths,
      alloc,
      'info',
    );
    expect(cfg.key).toEqual({
      backend: 'pkcs11',
      module: '/usr/lib/x.so',
      tokenLabel: 't',
      keyLabel: 'k',
      pinFile: '/var/consortia/nodes/c1/n1/key-pin',
    });
    expect(JSON.stringify(cfg)).not.toContain('1234');
  });

  it('names the KMS key and region for an aws-kms key', () => {
    const cfg = buildNodeConfig(
      {
        ...base,
        key: {
          backend: 'aws-kms',
          provider: 'kms',
          keyId: 'alias/n1',
          region: 'eu-west-1',
          endpoint: 'https://kms.local',
        },
      },
      paths,
      alloc,
      'info',
    );
    expect(cfg.key).toEqual({
      backend: 'aws-kms',
      keyId: 'alias/n1',
      region: 'eu-west-1',
      endpoint: 'https://kms.local',
    });
  });
});
