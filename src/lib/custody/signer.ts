/**
 * Who signs: the one seam between building a signed message and holding its key. A file key, an
 * HSM or a KMS each implement it; callers never see a secret. `sign` gets the exact bytes to sign
 * (the domain-tagged message of src/chain/keys.ts: utf8(tag) || 0x00 || payload) and returns a
 * 64-byte Ed25519 signature over them. Defined here, in the base layer, so the custody backends
 * (src/lib/custody) can implement it; src/chain/signer.ts re-exports it.
 */
export interface Signer {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** A Signer whose backend signs without waiting (a file key, a PKCS#11 token): consensus signs on this path. */
export interface SyncSigner extends Signer {
  signSync(message: Uint8Array): Uint8Array;
}

/** Ed25519 signature length in bytes (RFC 8032). */
export const ED25519_SIGNATURE_BYTES = 64;
/** Ed25519 public key length in bytes (RFC 8032). */
export const ED25519_PUBLIC_KEY_BYTES = 32;
