import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { Writer } from './codec.js';
import { plainBytes } from './bytes.js';

/** Ed25519 key pair: secretKey is the 32-byte RFC 8032 seed, publicKey the 32-byte raw key. */
export interface KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

// DER prefix that wraps a raw Ed25519 seed so node:crypto (OpenSSL) can import it.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

const CACHE_LIMIT = 100_000; // one KeyObject per recently seen signer
const pubCache = new Map<string, KeyObject>();
const privCache = new Map<string, KeyObject>();

function cacheKey(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

function publicKeyObject(pk: Uint8Array): KeyObject | null {
  if (pk.length !== 32) return null;
  const k = cacheKey(pk);
  let ko = pubCache.get(k);
  if (ko === undefined) {
    try {
      // JWK import wraps the raw key directly; the DER (SPKI) path goes through OpenSSL's generic
      // decoders and cost ~10x more (~70 µs, as much as a verify) for every new signer.
      ko = createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pk.buffer, pk.byteOffset, 32).toString('base64url') },
        format: 'jwk',
      });
    } catch {
      return null; // not a valid curve point encoding
    }
    if (pubCache.size >= CACHE_LIMIT) pubCache.clear(); // bounded; refills with the hot keys
    pubCache.set(k, ko);
  }
  return ko;
}

function privateKeyObject(sk: Uint8Array): KeyObject {
  if (sk.length !== 32) throw new TypeError('ed25519 secret key must be a 32-byte seed');
  const k = cacheKey(sk);
  let ko = privCache.get(k);
  if (ko === undefined) {
    ko = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, sk]), format: 'der', type: 'pkcs8' });
    if (privCache.size >= 4096) privCache.clear(); // bounded; room for a load generator's few thousand accounts
    privCache.set(k, ko);
  }
  return ko;
}

export function generateKeyPair(): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  return { publicKey: plainBytes(spki).slice(spki.length - 32), secretKey: plainBytes(pkcs8).slice(pkcs8.length - 32) };
}

/** Public key of a 32-byte seed (node:crypto). */
export function publicKeyFromSecret(sk: Uint8Array): Uint8Array {
  const spki = createPublicKey(privateKeyObject(sk)).export({ format: 'der', type: 'spki' });
  return plainBytes(spki).slice(spki.length - 32);
}

export function sign(secretKey: Uint8Array, msg: Uint8Array): Uint8Array {
  return plainBytes(nodeSign(null, msg, privateKeyObject(secretKey)));
}

export function verify(publicKey: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  if (sig.length !== 64) return false;
  const ko = publicKeyObject(publicKey);
  if (ko === null) return false;
  try {
    return nodeVerify(null, msg, ko, sig);
  } catch {
    return false;
  }
}

/**
 * Whether 32 bytes decode to an Ed25519 point (RFC 8032 section 5.1.3). A key that does not can
 * never verify a signature: accepted as an admin key, it would lock its member out.
 */
export function isValidPublicKey(pk: Uint8Array): boolean {
  if (pk.length !== 32) return false;
  try {
    ed25519.Point.fromBytes(pk);
    return true;
  } catch {
    return false;
  }
}

/** Pure-JS implementation (@noble/curves) for the CLI, ceremony and other runtimes. */
export const portable = {
  generateKeyPair(): KeyPair {
    const { secretKey, publicKey } = ed25519.keygen();
    return { secretKey, publicKey };
  },
  getPublicKey(secretKey: Uint8Array): Uint8Array {
    return ed25519.getPublicKey(secretKey);
  },
  sign(secretKey: Uint8Array, msg: Uint8Array): Uint8Array {
    return ed25519.sign(msg, secretKey);
  },
  verify(publicKey: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
    try {
      return ed25519.verify(sig, msg, publicKey);
    } catch {
      return false;
    }
  },
};

/** Signing domains: every signed message is utf8(tag) || 0x00 || payload. */
export const Tags = {
  TX: 'consortia/tx/v1',
  VOTE: 'consortia/vote/v1',
  PROPOSAL: 'consortia/proposal/v1',
  POP: 'consortia/pop/v1',
  GENESIS_APPROVAL: 'consortia/genesis-approval/v1',
  GOV_VOTE: 'consortia/gov-vote/v1',
  /** A node key endorsing the p2p TLS key it presents when the node key itself stays in a token (src/node/p2p/tls-identity.ts). */
  P2P_BINDING: 'consortia/p2p-binding/v1',
  /** An org admin key endorsing the admin keys that replace it (replace_admin_keys, src/chain/governance.ts). */
  ADMIN_KEY_ENDORSEMENT: 'consortia/admin-key-endorsement/v1',
} as const;
export type SigningTag = (typeof Tags)[keyof typeof Tags];

const tagPrefixes = new Map<string, Uint8Array>();
function tagPrefix(tag: string): Uint8Array {
  let p = tagPrefixes.get(tag);
  if (p === undefined) {
    const t = Buffer.from(tag, 'utf8');
    p = new Uint8Array(t.length + 1);
    p.set(t);
    tagPrefixes.set(tag, p);
  }
  return p;
}

/** The exact bytes that get signed for (tag, payload). */
export function domainMessage(tag: string, payload: Uint8Array): Uint8Array {
  const p = tagPrefix(tag);
  const m = new Uint8Array(p.length + payload.length);
  m.set(p);
  m.set(payload, p.length);
  return m;
}

export function signDomain(tag: string, sk: Uint8Array, payload: Uint8Array): Uint8Array {
  return sign(sk, domainMessage(tag, payload));
}
// verify is synchronous, so one buffer serves every call: a tx's message (~170 bytes) made anew
// for each of its verifies would be a malloc'd backing store, on every validator.
const verifyScratch = Buffer.allocUnsafeSlow(16 * 1024);
export function verifyDomain(tag: string, pk: Uint8Array, payload: Uint8Array, sig: Uint8Array): boolean {
  const p = tagPrefix(tag);
  const n = p.length + payload.length;
  if (n > verifyScratch.length) return verify(pk, domainMessage(tag, payload), sig);
  verifyScratch.set(p, 0);
  verifyScratch.set(payload, p.length);
  return verify(pk, verifyScratch.subarray(0, n), sig);
}
/** Same as signDomain/verifyDomain with @noble/curves. */
export function signDomainPortable(tag: string, sk: Uint8Array, payload: Uint8Array): Uint8Array {
  return portable.sign(sk, domainMessage(tag, payload));
}
export function verifyDomainPortable(tag: string, pk: Uint8Array, payload: Uint8Array, sig: Uint8Array): boolean {
  return portable.verify(pk, domainMessage(tag, payload), sig);
}

/** Payload a validator/node key signs (tag pop) to prove it holds the secret key. */
export function proofOfPossessionPayload(chainId: string, publicKey: Uint8Array): Uint8Array {
  return new Writer(96).string(chainId).fixed(publicKey, 32).finish();
}
export function signProofOfPossession(chainId: string, sk: Uint8Array, publicKey: Uint8Array): Uint8Array {
  return signDomain(Tags.POP, sk, proofOfPossessionPayload(chainId, publicKey));
}
export function verifyProofOfPossession(chainId: string, publicKey: Uint8Array, pop: Uint8Array): boolean {
  return verifyDomain(Tags.POP, publicKey, proofOfPossessionPayload(chainId, publicKey), pop);
}
