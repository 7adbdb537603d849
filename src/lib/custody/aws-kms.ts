import type { GetPublicKeyCommandOutput, KMSClient, SignCommandOutput } from '@aws-sdk/client-kms';
import { ConsortiaError } from '../errors.js';
import { CustodyCodes } from './errors.js';
import type { AwsKmsKeyRef } from './key-ref.js';
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES, type Signer } from './signer.js';

/** KMS key spec and algorithm of a pure Ed25519 key (RFC 8032, not the pre-hashed variant). */
export const KMS_KEY_SPEC = 'ECC_NIST_EDWARDS25519';
export const KMS_SIGNING_ALGORITHM = 'ED25519_SHA_512';
// SubjectPublicKeyInfo DER of an Ed25519 key, up to the 32 key bytes (RFC 8410).
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** Largest RAW message KMS signs (its Sign API limit, in bytes). */
export const KMS_RAW_MESSAGE_BYTES_MAX = 4096;

function fail(code: string, message: string, cause?: unknown): never {
  throw new ConsortiaError(code, message, undefined, cause === undefined ? undefined : { cause });
}

type KmsSdk = typeof import('@aws-sdk/client-kms');
/** The AWS SDK is loaded on first use: processes without a KMS key never pay for it. */
async function sdk(): Promise<KmsSdk> {
  return import('@aws-sdk/client-kms');
}

async function clientOf(ref: AwsKmsKeyRef): Promise<{ client: KMSClient; kms: KmsSdk }> {
  const kms = await sdk();
  // Credentials come from the SDK's default chain (environment, profile, Pod Identity, IMDS).
  return {
    kms,
    client: new kms.KMSClient({
      region: ref.region,
      ...(ref.endpoint !== undefined ? { endpoint: ref.endpoint } : {}),
    }),
  };
}

function kmsCode(err: unknown): string {
  const name = (err as { name?: string }).name ?? '';
  if (name === 'NotFoundException') return CustodyCodes.KEY_NOT_FOUND;
  if (
    /Credentials|AccessDenied|UnrecognizedClient|InvalidSignature|ECONNREFUSED|ENOTFOUND|TimeoutError/.test(
      name + String((err as Error).message),
    )
  ) {
    return CustodyCodes.BACKEND_UNAVAILABLE;
  }
  return CustodyCodes.BACKEND_FAILED;
}

/** The raw 32-byte Ed25519 key inside an SPKI DER public key as GetPublicKey returns it. */
export function ed25519FromSpki(spki: Uint8Array): Uint8Array {
  const b = Buffer.from(spki);
  if (
    b.length !== SPKI_ED25519_PREFIX.length + ED25519_PUBLIC_KEY_BYTES ||
    !b.subarray(0, SPKI_ED25519_PREFIX.length).equals(SPKI_ED25519_PREFIX)
  ) {
    return fail(CustodyCodes.KEY_UNSUITABLE, 'the KMS public key is not an Ed25519 SubjectPublicKeyInfo');
  }
  return new Uint8Array(b.subarray(SPKI_ED25519_PREFIX.length));
}

/** A KMS key that signs inside KMS; `close` releases the HTTP client. */
export interface AwsKmsSigner extends Signer {
  close(): void;
}

/** Opens an ECC_NIST_EDWARDS25519 SIGN_VERIFY key: reads its public key once, signs each message with one Sign call. */
export async function openAwsKmsSigner(ref: AwsKmsKeyRef): Promise<AwsKmsSigner> {
  const { client, kms } = await clientOf(ref);
  let pub: GetPublicKeyCommandOutput;
  try {
    pub = await client.send(new kms.GetPublicKeyCommand({ KeyId: ref.keyId }));
  } catch (err) {
    client.destroy();
    fail(kmsCode(err), `KMS GetPublicKey for ${ref.keyId} failed: ${(err as Error).message}`, err);
  }
  if (pub.KeySpec !== KMS_KEY_SPEC || pub.KeyUsage !== 'SIGN_VERIFY' || pub.PublicKey === undefined) {
    client.destroy();
    fail(
      CustodyCodes.KEY_UNSUITABLE,
      `KMS key ${ref.keyId} is ${pub.KeySpec ?? '?'}/${pub.KeyUsage ?? '?'}; it must be ${KMS_KEY_SPEC}/SIGN_VERIFY`,
    );
  }
  const publicKey = ed25519FromSpki(pub.PublicKey);
  const keyId = pub.KeyId ?? ref.keyId;
  return {
    publicKey,
    sign: async (message) => {
      if (message.length > KMS_RAW_MESSAGE_BYTES_MAX) {
        fail(
          CustodyCodes.BACKEND_FAILED,
          `KMS signs at most ${KMS_RAW_MESSAGE_BYTES_MAX} bytes; the message has ${message.length}`,
        );
      }
      let out: SignCommandOutput;
      try {
        out = await client.send(
          new kms.SignCommand({
            KeyId: keyId,
            Message: message,
            MessageType: 'RAW',
            SigningAlgorithm: KMS_SIGNING_ALGORITHM,
          }),
        );
      } catch (err) {
        fail(kmsCode(err), `KMS Sign with ${ref.keyId} failed: ${(err as Error).message}`, err);
      }
      const sig = out.Signature;
      if (sig === undefined || sig.length !== ED25519_SIGNATURE_BYTES)
        fail(CustodyCodes.KEY_UNSUITABLE, `KMS key ${ref.keyId} returned no 64-byte Ed25519 signature`);
      return new Uint8Array(sig);
    },
    close: () => client.destroy(),
  };
}

/** Creates an ECC_NIST_EDWARDS25519 SIGN_VERIFY key in KMS (generated inside KMS) and returns its key id. */
export async function createAwsKmsKey(ref: Omit<AwsKmsKeyRef, 'keyId'>, description: string): Promise<string> {
  const { client, kms } = await clientOf({ ...ref, keyId: '' });
  try {
    const out = await client.send(
      new kms.CreateKeyCommand({ KeySpec: KMS_KEY_SPEC, KeyUsage: 'SIGN_VERIFY', Description: description }),
    );
    const id = out.KeyMetadata?.KeyId;
    if (id === undefined) fail(CustodyCodes.BACKEND_FAILED, 'KMS CreateKey returned no key id');
    return id;
  } catch (err) {
    if (err instanceof ConsortiaError) throw err;
    return fail(kmsCode(err), `KMS CreateKey failed: ${(err as Error).message}`, err);
  } finally {
    client.destroy();
  }
}
