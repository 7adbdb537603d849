import { Tags, domainMessage, proofOfPossessionPayload, sign } from '../chain/index.js';
import {
  CustodyCodes,
  generatePkcs11Key,
  openPkcs11Signer,
  parseKeyRef,
  pkcs11Pin,
  type Pkcs11KeyRef,
  type Pkcs11Signer,
  type SyncSigner,
} from '../lib/custody/index.js';
import { ConsortiaError, CommonCodes, isConsortiaError } from '../lib/errors.js';
import { loadOrCreateNodeKey } from './keygen.js';
import { makeBoundTlsIdentity, makeTlsIdentity, type TlsIdentity } from './p2p/index.js';

/**
 * The node's own key as the node uses it: it signs synchronously (consensus votes and proposals,
 * the proof of possession) and gives the p2p TLS identity. A file key is the key file in the data
 * dir; a pkcs11 key stays in its token, where C_Sign is synchronous too, and the p2p certificate
 * is a transport key it endorses (src/node/p2p/tls-identity.ts).
 */
export interface NodeKey extends SyncSigner {
  readonly backend: 'file' | 'pkcs11';
  tlsIdentity(): TlsIdentity;
  close(): void;
}

/** The `key` section of the node config (src/node/config.ts): which backend holds the node key. */
export interface NodeKeyConfig {
  backend?: string;
  module?: string;
  tokenLabel?: string;
  keyLabel?: string;
  pinEnv?: string;
  pinFile?: string;
}

/** The pkcs11 reference a node config names, or undefined for the file key; INVALID_CONFIG when malformed. */
export function nodeKeyRef(key: NodeKeyConfig | undefined): Pkcs11KeyRef | undefined {
  if (key === undefined || key.backend === undefined || key.backend === 'file') return undefined;
  if (key.backend !== 'pkcs11')
    throw new ConsortiaError(
      CommonCodes.INVALID_CONFIG,
      `invalid configuration: /key/backend: the node key backend must be file or pkcs11, not ${JSON.stringify(key.backend)}`,
    );
  try {
    return parseKeyRef({ ...key, backend: 'pkcs11' }) as Pkcs11KeyRef;
  } catch (err) {
    throw new ConsortiaError(
      CommonCodes.INVALID_CONFIG,
      `invalid configuration: /key: ${(err as Error).message}`,
      undefined,
      { cause: err },
    );
  }
}

function fileNodeKey(keyFile: string): { key: NodeKey; created: boolean } {
  const { keyPair, created } = loadOrCreateNodeKey(keyFile);
  const sk = keyPair.secretKey;
  const signSync = (m: Uint8Array): Uint8Array => sign(sk, m);
  return {
    created,
    key: {
      backend: 'file',
      publicKey: keyPair.publicKey,
      signSync,
      sign: async (m) => signSync(m),
      tlsIdentity: () => makeTlsIdentity(sk),
      close: () => undefined,
    },
  };
}

/** Opens the token's key labelled ref.keyLabel, generating it inside the token on first start. */
function pkcs11NodeKey(ref: Pkcs11KeyRef, env: NodeJS.ProcessEnv): { key: NodeKey; created: boolean } {
  const pin = pkcs11Pin(ref, env);
  let created = false;
  let s: Pkcs11Signer;
  try {
    s = openPkcs11Signer(ref, pin);
  } catch (err) {
    if (!isConsortiaError(err) || err.code !== CustodyCodes.KEY_NOT_FOUND) throw err;
    s = generatePkcs11Key(ref, pin);
    created = true;
  }
  const signer = s;
  return {
    created,
    key: {
      backend: 'pkcs11',
      publicKey: signer.publicKey,
      signSync: signer.signSync,
      sign: signer.sign,
      tlsIdentity: () => makeBoundTlsIdentity(signer.publicKey, signer.signSync),
      close: () => signer.close(),
    },
  };
}

/** The node key named by the config: `key.backend` pkcs11, else the key file. */
export function openNodeKey(
  keyFile: string,
  keyConfig: NodeKeyConfig | undefined,
  env: NodeJS.ProcessEnv,
): { key: NodeKey; created: boolean } {
  const ref = nodeKeyRef(keyConfig);
  return ref === undefined ? fileNodeKey(keyFile) : pkcs11NodeKey(ref, env);
}

/** The node's proof of possession, signed by its key wherever that key is. */
export function proofOfPossessionWith(key: SyncSigner, chainId: string): Uint8Array {
  return key.signSync(domainMessage(Tags.POP, proofOfPossessionPayload(chainId, key.publicKey)));
}

/** Env names of the `key` section (the config overlay's names: key.tokenLabel -> CONSORTIA_NODE_KEY_TOKEN_LABEL). */
const KEY_ENV = {
  backend: 'CONSORTIA_NODE_KEY_BACKEND',
  module: 'CONSORTIA_NODE_KEY_MODULE',
  tokenLabel: 'CONSORTIA_NODE_KEY_TOKEN_LABEL',
  keyLabel: 'CONSORTIA_NODE_KEY_KEY_LABEL',
  pinEnv: 'CONSORTIA_NODE_KEY_PIN_ENV',
  pinFile: 'CONSORTIA_NODE_KEY_PIN_FILE',
} as const;

/** The `key` section for keygen mode, which reads no config file: from the same env variables as the node. */
export function nodeKeyConfigFromEnv(env: NodeJS.ProcessEnv): NodeKeyConfig | undefined {
  const out: NodeKeyConfig = {};
  for (const [field, name] of Object.entries(KEY_ENV)) {
    const v = env[name];
    if (v !== undefined && v !== '') out[field as keyof NodeKeyConfig] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * `main.js keygen`: ensure the node key exists (a pkcs11 key is generated inside its token) and
 * return its public identity; the proof of possession is signed wherever the key is.
 */
export function keygenWith(
  keyFile: string,
  chainId: string,
  keyConfig: NodeKeyConfig | undefined,
  env: NodeJS.ProcessEnv,
): { publicKey: string; proofOfPossession: string; created: boolean } {
  const { key, created } = openNodeKey(keyFile, keyConfig, env);
  try {
    const pop = proofOfPossessionWith(key, chainId);
    return {
      publicKey: Buffer.from(key.publicKey).toString('hex'),
      proofOfPossession: Buffer.from(pop).toString('hex'),
      created,
    };
  } finally {
    key.close();
  }
}
