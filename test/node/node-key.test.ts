import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex, verify, verifyProofOfPossession } from '../../src/chain/index.js';
import { loadNodeConfig, parseNodeConfig } from '../../src/node/config.js';
import { keygenWith, nodeKeyConfigFromEnv, openNodeKey } from '../../src/node/node-key.js';
import { SOFTHSM_MODULE, createSoftHsmToken, type SoftHsmToken } from '../lib/custody/softhsm.js';

let token: SoftHsmToken;
let dir: string;
const env = { NODE_PIN: '' };
const pkcs11 = {
  backend: 'pkcs11' as const,
  module: SOFTHSM_MODULE,
  tokenLabel: 'node-key-unit',
  keyLabel: 'validator',
  pinEnv: 'NODE_PIN',
};

beforeAll(() => {
  token = createSoftHsmToken('node-key-unit');
  env.NODE_PIN = token.pin;
  dir = mkdtempSync(join(tmpdir(), 'consortia-node-key-'));
});
afterAll(() => {
  token.remove();
  rmSync(dir, { recursive: true, force: true });
});

describe('node key config', () => {
  it('accepts a complete pkcs11 key section, also from the env overlay', () => {
    expect(parseNodeConfig({ chainId: 'c1', dataDir: dir, key: pkcs11 }).key).toEqual(pkcs11);
    const fromEnv = loadNodeConfig([], {
      CONSORTIA_NODE_CHAIN_ID: 'c1',
      CONSORTIA_NODE_DATA_DIR: dir,
      CONSORTIA_NODE_KEY_BACKEND: 'pkcs11',
      CONSORTIA_NODE_KEY_MODULE: SOFTHSM_MODULE,
      CONSORTIA_NODE_KEY_TOKEN_LABEL: 'node-key-unit',
      CONSORTIA_NODE_KEY_KEY_LABEL: 'validator',
      CONSORTIA_NODE_KEY_PIN_ENV: 'NODE_PIN',
    });
    expect(fromEnv.key).toEqual(pkcs11);
  });

  it('refuses an incomplete pkcs11 section, a light node with a token key, and unknown backends', () => {
    const bad =
      (key: unknown, role = 'validator') =>
      () =>
        parseNodeConfig({ chainId: 'c1', dataDir: dir, role, key });
    expect(bad({ ...pkcs11, module: undefined })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(bad({ ...pkcs11, pinEnv: undefined })).toThrow(/pinEnv or pinFile/);
    expect(bad({ ...pkcs11, module: 'relative/lib.so' })).toThrow(/absolute/);
    expect(bad(pkcs11, 'light')).toThrow(/light node/);
    expect(bad({ backend: 'aws-kms' })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});

describe('node key in a PKCS#11 token (SoftHSM2)', () => {
  it('keygen generates the key inside the token and signs the proof of possession there', async () => {
    const out = await keygenWith(
      join(dir, 'node-key.json'),
      'chain-k',
      nodeKeyConfigFromEnv({
        CONSORTIA_NODE_KEY_BACKEND: 'pkcs11',
        CONSORTIA_NODE_KEY_MODULE: SOFTHSM_MODULE,
        CONSORTIA_NODE_KEY_TOKEN_LABEL: 'node-key-unit',
        CONSORTIA_NODE_KEY_KEY_LABEL: 'validator',
        CONSORTIA_NODE_KEY_PIN_ENV: 'NODE_PIN',
      }),
      env,
    );
    expect(out.created).toBe(true);
    expect(verifyProofOfPossession('chain-k', fromHex(out.publicKey, 32), fromHex(out.proofOfPossession, 64))).toBe(
      true,
    );
    const again = await keygenWith(join(dir, 'node-key.json'), 'chain-k', pkcs11, env);
    expect(again).toMatchObject({ publicKey: out.publicKey, created: false });
  });

  it('the node opens the same key, signs synchronously, and its TLS identity is bound to it', async () => {
    const { key, created } = await openNodeKey(join(dir, 'node-key.json'), pkcs11, env);
    expect(created).toBe(false);
    const m = new Uint8Array([1, 2, 3]);
    expect(verify(key.publicKey, m, key.signSync!(m))).toBe(true);
    expect(Buffer.from(key.tlsIdentity().publicKey).equals(Buffer.from(key.publicKey))).toBe(true);
    key.close();
  });

  it('without its PIN the node does not start', async () => {
    await expect(openNodeKey(join(dir, 'node-key.json'), pkcs11, {})).rejects.toThrow(
      expect.objectContaining({ code: 'KEY_REF_INVALID' }),
    );
  });

  it('a file key stays what it was: the key file in the data dir', async () => {
    const { key, created } = await openNodeKey(join(dir, 'file-key.json'), undefined, {});
    expect(created).toBe(true);
    expect(key.backend).toBe('file');
    expect((await openNodeKey(join(dir, 'file-key.json'), { backend: 'file' }, {})).key.publicKey).toEqual(
      key.publicKey,
    );
  });
});
