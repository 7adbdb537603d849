export type { Signer, SyncSigner } from './signer.js';
export { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES } from './signer.js';
export { CustodyCodes } from './errors.js';
export {
  KEY_BACKENDS,
  parseKeyRef,
  type AwsKmsKeyRef,
  type FileKeyRef,
  type KeyBackend,
  type KeyRef,
  type Pkcs11KeyRef,
} from './key-ref.js';
export { generatePkcs11Key, openPkcs11Signer, pkcs11Pin, type Pkcs11Signer } from './pkcs11.js';
export {
  createAwsKmsKey,
  openAwsKmsSigner,
  KMS_KEY_SPEC,
  KMS_SIGNING_ALGORITHM,
  type AwsKmsSigner,
} from './aws-kms.js';
