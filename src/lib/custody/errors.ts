/** Stable codes of the key custody backends (src/lib/custody). */
export const CustodyCodes = {
  /** A key reference (CLI profile, node config) that is incomplete or malformed. */
  KEY_REF_INVALID: 'KEY_REF_INVALID',
  /** The backend (PKCS#11 module, token, KMS endpoint) could not be reached or refused the login. */
  BACKEND_UNAVAILABLE: 'BACKEND_UNAVAILABLE',
  /** The named key is not in the backend. */
  KEY_NOT_FOUND: 'CUSTODY_KEY_NOT_FOUND',
  /** A key with that name already exists in the backend (generation never replaces one). */
  KEY_EXISTS: 'CUSTODY_KEY_EXISTS',
  /** The backend's key is not an Ed25519 key, or it returned a signature that does not verify. */
  KEY_UNSUITABLE: 'CUSTODY_KEY_UNSUITABLE',
  /** The backend failed an operation (sign, generate). */
  BACKEND_FAILED: 'CUSTODY_BACKEND_FAILED',
} as const;
