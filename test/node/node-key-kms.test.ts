import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex, verify, verifyProofOfPossession } from '../../src/chain/index.js';
import { CustodyCodes } from '../../src/lib/custody/index.js';
import { loadNodeConfig, parseNodeConfig } from '../../src/node/config.js';
import { keygenWith, nodeKeyConfigFromEnv, openNodeKey } from '../../src/node/node-key.js';
import { peerKeyFromCert } from '../../src/node/p2p/index.js';
import { KEY_ARN, startRecordedKms, type RecordedKms } from '../lib/custody/kms-recorded.js';

// The node's key in AWS KMS against recorded KMS request/response shapes (see
// test/lib/custody/kms-recorded.ts for why not a live endpoint): the requests the node sends for
// keygen's proof of possession and the p2p binding, and the config that names the key.
const SEED = new Uint8Array(32).fill(7);
const CHAIN = 'kms-chain';
/*
 * Recorded once: the Sign request's Message (base64) for the proof of possession of the key with
 * SEED on CHAIN: utf8('consortia/pop/v1') || 0x00 || u32be(9) || 'kms-chain' || the 32-byte public
 * key (src/chain/keys.ts). A change of the signed bytes shows here before a chain refuses a node.
 */
const POP_MESSAGE_B64 = 'Y29uc29ydGlhL3BvcC92MQAAAAAJa21zLWNoYWlu6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=';

let kms: RecordedKms;
let dir: string;
beforeAll(async () => {
  kms = await startRecordedKms({ seed: SEED });
  dir = mkdtempSync(join(tmpdir(), 'consortia-node-key-kms-'));
});
afterAll(async () => {
  await kms.close();
  rmSync(dir, { recursive: true, force: true });
});

const kmsKey = () => ({ backend: 'aws-kms', keyId: 'alias/validator-1', region: 'eu-west-1', endpoint: kms.endpoint });

describe('node key config: aws-kms', () => {
  it('accepts keyId, region and endpoint, also from CONSORTIA_NODE_KEY_* in run and keygen mode', () => {
    const key = kmsKey();
    expect(parseNodeConfig({ chainId: 'c1', dataDir: dir, key }).key).toEqual(key);
    const env = {
      CONSORTIA_NODE_CHAIN_ID: 'c1',
      CONSORTIA_NODE_DATA_DIR: dir,
      CONSORTIA_NODE_KEY_BACKEND: 'aws-kms',
      CONSORTIA_NODE_KEY_KEY_ID: key.keyId,
      CONSORTIA_NODE_KEY_REGION: key.region,
      CONSORTIA_NODE_KEY_ENDPOINT: key.endpoint,
    };
    expect(loadNodeConfig([], env).key).toEqual(key);
    expect(nodeKeyConfigFromEnv(env)).toEqual(key);
  });

  it('refuses an incomplete or mixed section with INVALID_CONFIG naming the field', () => {
    const bad = (key: Record<string, unknown>, role = 'validator') => {
      try {
        parseNodeConfig({ chainId: 'c1', dataDir: dir, role, key });
      } catch (err) {
        return err;
      }
      throw new Error('accepted');
    };
    const { keyId: _k, ...noKeyId } = kmsKey();
    const { region: _r, ...noRegion } = kmsKey();
    expect(bad(noKeyId)).toMatchObject({
      code: 'INVALID_CONFIG',
      details: { problems: [expect.stringMatching(/^\/key\/keyId: /)] },
    });
    expect(bad(noRegion)).toMatchObject({
      code: 'INVALID_CONFIG',
      details: { problems: [expect.stringMatching(/^\/key\/region: /)] },
    });
    expect(bad({ ...kmsKey(), endpoint: 'kms.local:4566' })).toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(/\/key: .*endpoint must be an http\(s\) URL/),
    });
    expect(bad({ ...kmsKey(), pinEnv: 'NODE_PIN' })).toMatchObject({
      code: 'INVALID_CONFIG',
      details: { problems: ['/key/pinEnv: not a field of the aws-kms backend'] },
    });
    expect(bad({ backend: 'file', keyId: 'alias/x' })).toMatchObject({
      code: 'INVALID_CONFIG',
      details: { problems: ['/key/keyId: not a field of the file backend'] },
    });
    expect(bad(kmsKey(), 'light')).toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(/light node/),
    });
  });
});

describe('node key in AWS KMS (recorded KMS contract)', () => {
  it('keygen reads the public key, then signs the proof of possession with one RAW ED25519_SHA_512 Sign', async () => {
    kms.seen.length = 0;
    const out = await keygenWith(join(dir, 'unused.json'), CHAIN, kmsKey(), {});
    expect(out.created).toBe(false); // the key is created outside the node
    expect(fromHex(out.publicKey, 32)).toEqual(kms.key.publicKey);
    expect(verifyProofOfPossession(CHAIN, fromHex(out.publicKey, 32), fromHex(out.proofOfPossession, 64))).toBe(true);
    const targets = kms.seen.map((r) => r.target);
    expect(targets[0]).toBe('TrentService.GetPublicKey');
    expect(targets.at(-1)).toBe('TrentService.Sign');
    expect(kms.seen[0]!.body).toEqual({ KeyId: 'alias/validator-1' });
    expect(kms.seen.at(-1)!.body).toEqual({
      KeyId: KEY_ARN,
      Message: POP_MESSAGE_B64,
      MessageType: 'RAW',
      SigningAlgorithm: 'ED25519_SHA_512',
    });
  });

  it('endorses the p2p transport key once at start-up: the certificate names the KMS key', async () => {
    kms.seen.length = 0;
    const { key } = await openNodeKey(join(dir, 'unused.json'), kmsKey(), {});
    expect(key.backend).toBe('aws-kms');
    expect(key.signSync).toBeUndefined();
    expect(kms.seen.map((r) => r.target)).toEqual(['TrentService.GetPublicKey', 'TrentService.Sign']);
    const binding = Buffer.from(String(kms.seen[1]!.body.Message), 'base64');
    expect(binding.subarray(0, 25).toString('latin1')).toBe('consortia/p2p-binding/v1\0');
    expect(binding.length).toBe(25 + 32); // the tag and the transport public key
    const id = key.tlsIdentity();
    expect(key.tlsIdentity()).toBe(id); // no KMS request per handshake
    expect(peerKeyFromCert(new X509Certificate(id.certPem))).toEqual(kms.key.publicKey);
    const m = new Uint8Array([9, 9, 9]);
    expect(verify(key.publicKey, m, await key.sign(m))).toBe(true);
    key.close();
  });

  it('a throttled Sign is an error with a stable code, not a crash; a missing key stops start-up', async () => {
    const { key } = await openNodeKey(join(dir, 'unused.json'), kmsKey(), {});
    kms.signError = { status: 400, type: 'ThrottlingException', message: 'Rate exceeded' };
    try {
      await expect(key.sign(new Uint8Array([1]))).rejects.toMatchObject({ code: CustodyCodes.BACKEND_FAILED });
    } finally {
      kms.signError = null;
      key.close();
    }
    await expect(openNodeKey(join(dir, 'unused.json'), { ...kmsKey(), keyId: 'missing' }, {})).rejects.toMatchObject({
      code: CustodyCodes.KEY_NOT_FOUND,
    });
  });
});
