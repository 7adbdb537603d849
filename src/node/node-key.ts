import { Tags, domainMessage, proofOfPossessionPayload, sign } from '../chain/index.js';
import {
  CustodyCodes,
  generatePkcs11Key,
  openAwsKmsSigner,
  openPkcs11Signer,
  parseKeyRef,
  pkcs11Pin,
  type AwsKmsKeyRef,
  type Pkcs11KeyRef,
  type Pkcs11Signer,
  type Signer,
  type SyncSigner,
} from '../lib/custody/index.js';
import { ConsortiaError, CommonCodes, isConsortiaError } from '../lib/errors.js';
import { loadOrCreateNodeKey } from './keygen.js';
import { makeBoundTlsIdentity, makeBoundTlsIdentityAsync, makeTlsIdentity, type TlsIdentity } from './p2p/index.js';

/**
 * The node's own key as the node uses it: it signs consensus votes and proposals and the proof of
 * possession, and gives the p2p TLS identity. A file key is the key file in the data dir; a pkcs11
 * key stays in its token, where C_Sign is synchronous too; an aws-kms key stays in KMS and signs
 * only asynchronously (one Sign request each), so it has no `signSync` and the engine waits for its
 * signatures (src/node/engine/engine.ts). For both external keys the p2p certificate is a
 * transport key the node key endorses (src/node/p2p/tls-identity.ts).
 */
export interface NodeKey extends NodeSigner {
  readonly backend: NodeKeyBackend;
  tlsIdentity(): TlsIdentity;
  close(): void;
}

export type NodeKeyBackend = 'file' | 'pkcs11' | 'aws-kms';

/** The `key` section of the node config (src/node/config.ts): which backend holds the node key. */
export interface NodeKeyConfig {
  backend?: string;
  module?: string;
  tokenLabel?: string;
  keyLabel?: string;
  pinEnv?: string;
  pinFile?: string;
  keyId?: string;
  region?: string;
  endpoint?: string;
}

/** A key the node signs consensus messages with: every backend signs asynchronously, file and pkcs11 also inline. */
export type NodeSigner = Signer & { readonly signSync?: (message: Uint8Array) => Uint8Array };

/** The pkcs11 or aws-kms reference a node config names, or undefined for a file key; INVALID_CONFIG if malformed. */
export function nodeKeyRef(key: NodeKeyConfig | undefined): Pkcs11KeyRef | AwsKmsKeyRef | undefined {
  if (key === undefined || key.backend === undefined || key.backend === 'file') return undefined;
  if (key.backend !== 'pkcs11' && key.backend !== 'aws-kms')
    throw new ConsortiaError(
      CommonCodes.INVALID_CONFIG,
      `invalid configuration: /key/backend: the node key backend must be file, pkcs11 or aws-kms, not ${JSON.stringify(key.backend)}`,
    );
  try {
    return parseKeyRef(key) as Pkcs11KeyRef | AwsKmsKeyRef;
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

/**
 * Opens an existing KMS key (it is created outside the node, which holds no kms:CreateKey): reads its
 * public key, checks its spec (src/lib/custody/aws-kms.ts), and has it endorse the p2p transport key
 * once, at start-up, since a TLS identity cannot wait for KMS on each handshake.
 */
async function awsKmsNodeKey(ref: AwsKmsKeyRef): Promise<{ key: NodeKey; created: boolean }> {
  const signer = await openAwsKmsSigner(ref);
  let tls: TlsIdentity;
  try {
    tls = await makeBoundTlsIdentityAsync(signer.publicKey, signer.sign);
  } catch (err) {
    signer.close();
    throw err;
  }
  return {
    created: false,
    key: {
      backend: 'aws-kms',
      publicKey: signer.publicKey,
      sign: signer.sign,
      tlsIdentity: () => tls,
      close: () => signer.close(),
    },
  };
}

/** The node key named by the config: `key.backend` pkcs11 or aws-kms, else the key file. */
export async function openNodeKey(
  keyFile: string,
  keyConfig: NodeKeyConfig | undefined,
  env: NodeJS.ProcessEnv,
): Promise<{ key: NodeKey; created: boolean }> {
  const ref = nodeKeyRef(keyConfig);
  if (ref === undefined) return fileNodeKey(keyFile);
  return ref.backend === 'pkcs11' ? pkcs11NodeKey(ref, env) : awsKmsNodeKey(ref);
}

function popMessage(chainId: string, publicKey: Uint8Array): Uint8Array {
  return domainMessage(Tags.POP, proofOfPossessionPayload(chainId, publicKey));
}

/** The node's proof of possession, signed by its key wherever that key is (KMS included). */
export async function proofOfPossessionWith(key: Signer, chainId: string): Promise<Uint8Array> {
  return key.sign(popMessage(chainId, key.publicKey));
}

/** The proof of possession of a key that signs synchronously (rotated consensus keys, src/node/consensus-keys.ts). */
export function proofOfPossessionSync(key: SyncSigner, chainId: string): Uint8Array {
  return key.signSync(popMessage(chainId, key.publicKey));
}

/** Env names of the `key` section (the config overlay's names: key.tokenLabel -> CONSORTIA_NODE_KEY_TOKEN_LABEL). */
const KEY_ENV = {
  backend: 'CONSORTIA_NODE_KEY_BACKEND',
  module: 'CONSORTIA_NODE_KEY_MODULE',
  tokenLabel: 'CONSORTIA_NODE_KEY_TOKEN_LABEL',
  keyLabel: 'CONSORTIA_NODE_KEY_KEY_LABEL',
  pinEnv: 'CONSORTIA_NODE_KEY_PIN_ENV',
  pinFile: 'CONSORTIA_NODE_KEY_PIN_FILE',
  keyId: 'CONSORTIA_NODE_KEY_KEY_ID',
  region: 'CONSORTIA_NODE_KEY_REGION',
  endpoint: 'CONSORTIA_NODE_KEY_ENDPOINT',
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
 * `main.js keygen`: ensure the node key exists (a pkcs11 key is generated inside its token; a KMS
 * key must exist already) and return its public identity; the proof of possession is signed
 * wherever the key is.
 */
export async function keygenWith(
  keyFile: string,
  chainId: string,
  keyConfig: NodeKeyConfig | undefined,
  env: NodeJS.ProcessEnv,
): Promise<{ publicKey: string; proofOfPossession: string; created: boolean }> {
  const { key, created } = await openNodeKey(keyFile, keyConfig, env);
  try {
    const pop = await proofOfPossessionWith(key, chainId);
    return {
      publicKey: Buffer.from(key.publicKey).toString('hex'),
      proofOfPossession: Buffer.from(pop).toString('hex'),
      created,
    };
  } finally {
    key.close();
  }
}
