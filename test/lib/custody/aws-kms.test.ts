import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tags, domainMessage, verify } from '../../../src/chain/index.js';
import { createAwsKmsKey, ed25519FromSpki, openAwsKmsSigner } from '../../../src/lib/custody/aws-kms.js';
import { CustodyCodes } from '../../../src/lib/custody/errors.js';
import { KEY_ARN, KEY_ID, startRecordedKms, type RecordedKms } from './kms-recorded.js';

// Contract tests against recorded KMS shapes (see kms-recorded.ts for why not a live endpoint).
let kms: RecordedKms;
beforeAll(async () => {
  kms = await startRecordedKms();
});
afterAll(() => kms.close());

describe('aws-kms signer (recorded KMS contract)', () => {
  it('reads the SPKI public key, then signs RAW with ED25519_SHA_512; the signature verifies', async () => {
    kms.seen.length = 0;
    const s = await openAwsKmsSigner({
      backend: 'aws-kms',
      keyId: 'alias/org-a',
      region: 'eu-west-1',
      endpoint: kms.endpoint,
    });
    expect(Buffer.from(s.publicKey).equals(Buffer.from(kms.key.publicKey))).toBe(true);
    const msg = domainMessage(Tags.GOV_VOTE, new Uint8Array([1, 2, 3]));
    const sig = await s.sign(msg);
    expect(verify(s.publicKey, msg, sig)).toBe(true);
    s.close();
    expect(kms.seen.map((r) => r.target)).toEqual(['TrentService.GetPublicKey', 'TrentService.Sign']);
    expect(kms.seen[0]!.body).toEqual({ KeyId: 'alias/org-a' });
    // Sign names the key by the ARN GetPublicKey returned, so an alias moved meanwhile cannot switch keys.
    expect(kms.seen[1]!.body).toEqual({
      KeyId: KEY_ARN,
      Message: Buffer.from(msg).toString('base64'),
      MessageType: 'RAW',
      SigningAlgorithm: 'ED25519_SHA_512',
    });
    expect(kms.seen[1]!.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(String(kms.seen[1]!.headers.authorization)).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/kms\/aws4_request/,
    );
  });

  it('creates an ECC_NIST_EDWARDS25519 SIGN_VERIFY key', async () => {
    kms.seen.length = 0;
    expect(
      await createAwsKmsKey({ backend: 'aws-kms', region: 'eu-west-1', endpoint: kms.endpoint }, 'consortia org-a'),
    ).toBe(KEY_ID);
    expect(kms.seen[0]!.body).toEqual({
      KeySpec: 'ECC_NIST_EDWARDS25519',
      KeyUsage: 'SIGN_VERIFY',
      Description: 'consortia org-a',
    });
  });

  it('refuses a key of another spec and reports a missing key', async () => {
    kms.keySpec = 'ECC_NIST_P256';
    await expect(
      openAwsKmsSigner({ backend: 'aws-kms', keyId: KEY_ID, region: 'eu-west-1', endpoint: kms.endpoint }),
    ).rejects.toMatchObject({ code: CustodyCodes.KEY_UNSUITABLE });
    kms.keySpec = 'ECC_NIST_EDWARDS25519';
    await expect(
      openAwsKmsSigner({ backend: 'aws-kms', keyId: 'missing', region: 'eu-west-1', endpoint: kms.endpoint }),
    ).rejects.toMatchObject({ code: CustodyCodes.KEY_NOT_FOUND });
  });

  it('reads only an Ed25519 SubjectPublicKeyInfo', () => {
    expect(ed25519FromSpki(kms.spki)).toEqual(kms.key.publicKey);
    const p256 = Buffer.concat([
      Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'),
      Buffer.alloc(65),
    ]);
    expect(() => ed25519FromSpki(p256)).toThrow(expect.objectContaining({ code: CustodyCodes.KEY_UNSUITABLE }));
  });
});
