import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  chooseNodeKey,
  loadKeyProviders,
  nodeKeySpec,
  type KeyProviderConfig,
} from '../../../src/control-plane/domain/key-providers.js';
import { isConsortiaError } from '../../../src/lib/errors.js';

const hsm: KeyProviderConfig = {
  name: 'hsm',
  backend: 'pkcs11',
  module: '/usr/lib/softhsm/libsofthsm2.so',
  tokenLabel: 'acme',
  pinEnv: 'HSM_PIN',
};
const kms: KeyProviderConfig = { name: 'kms', backend: 'aws-kms', region: 'eu-west-1' };

function failure(fn: () => unknown): { code: string; message: string; details?: unknown } {
  try {
    fn();
  } catch (err) {
    if (isConsortiaError(err)) return { code: err.code, message: err.message, details: err.details };
    throw err;
  }
  throw new Error('expected a ConsortiaError');
}

describe('key providers of the control-plane config', () => {
  it('reads each pkcs11 PIN once, from its env variable or file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kp-'));
    writeFileSync(join(dir, 'pin'), '4321\n');
    const p = loadKeyProviders([hsm, { ...hsm, name: 'hsm2', pinEnv: undefined, pinFile: join(dir, 'pin') }, kms], {
      HSM_PIN: '1234',
    });
    expect(p.get('hsm')?.pin).toBe('1234');
    expect(p.get('hsm2')?.pin).toBe('4321');
    expect(p.get('kms')).toEqual(kms);
  });

  it.each([
    ['a name used twice', [hsm, { ...hsm }], { HSM_PIN: '1' }, /used twice/],
    ['a relative module', [{ ...hsm, module: 'libsofthsm2.so' }], { HSM_PIN: '1' }, /module: must be an absolute path/],
    ['no PIN source', [{ ...hsm, pinEnv: undefined }], {}, /exactly one of pinEnv or pinFile/],
    ['an unset PIN variable', [hsm], {}, /HSM_PIN is not set/],
    ['an unreadable PIN file', [{ ...hsm, pinEnv: undefined, pinFile: '/nonexistent/pin' }], {}, /cannot read/],
    [
      'a volume named like the node pod’s own',
      [{ ...hsm, kubernetes: { volumes: [{ name: 'tls', hostPath: { path: '/x' } }] } }],
      { HSM_PIN: '1' },
      /tls is taken/,
    ],
    [
      'a mount of a volume the provider does not have',
      [{ ...hsm, kubernetes: { volumeMounts: [{ name: 'hsm', mountPath: '/opt/hsm' }] } }],
      { HSM_PIN: '1' },
      /must name one of this provider's volumes/,
    ],
    [
      'a mount over the node’s data',
      [
        {
          ...hsm,
          kubernetes: {
            volumes: [{ name: 'hsm', hostPath: { path: '/x' } }],
            volumeMounts: [{ name: 'hsm', mountPath: '/' }],
          },
        },
      ],
      { HSM_PIN: '1' },
      /overlaps a path of the node pod/,
    ],
    [
      'an env variable the runtime sets',
      [{ ...hsm, kubernetes: { env: [{ name: 'CONSORTIA_NODE_KEY_BACKEND', value: 'file' }] } }],
      { HSM_PIN: '1' },
      /is set by the runtime/,
    ],
  ])('refuse %s at start, naming it', (_what, configs, env, message) => {
    const f = failure(() => loadKeyProviders(configs as KeyProviderConfig[], env));
    expect(f.code).toBe('INVALID_CONFIG');
    expect(f.message).toMatch(message);
  });
});

describe('the key a node request chooses', () => {
  const providers = loadKeyProviders([hsm, kms], { HSM_PIN: '1234' });

  it('defaults a pkcs11 key label to the node id and needs a KMS key id', () => {
    expect(chooseNodeKey({ provider: 'hsm' }, 'validator', 'node_1', providers)).toEqual({
      provider: 'hsm',
      backend: 'pkcs11',
      keyLabel: 'consortia-node_1',
    });
    expect(chooseNodeKey({ provider: 'kms', keyId: 'alias/v1' }, 'super', 'node_1', providers)).toEqual({
      provider: 'kms',
      backend: 'aws-kms',
      keyId: 'alias/v1',
    });
  });

  it.each([
    [{ provider: 'nope' }, 'validator', 'key.provider', /not configured on this platform \(configured: hsm, kms\)/],
    [{ provider: 'hsm' }, 'light', 'key', /light node signs nothing/],
    [{ provider: 'hsm', keyId: 'k' }, 'validator', 'key.keyId', /keyId is for aws-kms keys/],
    [{ provider: 'kms', keyLabel: 'l' }, 'validator', 'key.keyLabel', /keyLabel is for pkcs11 keys/],
    [{ provider: 'kms' }, 'validator', 'key.keyId', /keyId is required/],
  ] as const)('refuses %j for a %s node with 400 VALIDATION_FAILED on %s', (req, role, field, message) => {
    const f = failure(() => chooseNodeKey(req, role, 'node_1', providers));
    expect(f).toMatchObject({ code: 'VALIDATION_FAILED', details: { field } });
    expect(f.message).toMatch(message);
  });

  it('joins the choice with its provider for the runtime, PIN apart; a provider gone fails that node only', () => {
    const pod = { volumes: [{ name: 'hsm', hostPath: { path: '/opt/hsm' } }], env: [{ name: 'A', value: 'b' }] };
    const withPod = loadKeyProviders([{ ...hsm, kubernetes: pod }], { HSM_PIN: '1234' });
    expect(nodeKeySpec({ provider: 'hsm', backend: 'pkcs11', keyLabel: 'l' }, withPod)).toEqual({
      key: {
        backend: 'pkcs11',
        provider: 'hsm',
        module: hsm.module,
        tokenLabel: 'acme',
        keyLabel: 'l',
        kubernetes: pod,
      },
      pin: '1234',
    });
    expect(nodeKeySpec({ provider: 'kms', backend: 'aws-kms', keyId: 'k' }, providers)).toEqual({
      key: { backend: 'aws-kms', provider: 'kms', keyId: 'k', region: 'eu-west-1' },
    });
    expect(failure(() => nodeKeySpec({ provider: 'old', backend: 'pkcs11', keyLabel: 'l' }, providers)).code).toBe(
      'KEY_PROVIDER_MISSING',
    );
  });
});
