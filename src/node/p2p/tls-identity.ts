import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
  type X509Certificate,
} from 'node:crypto';
import { Tags, domainMessage, verify } from '../../chain/index.js';

/**
 * TLS identity = the node's Ed25519 key. We build a minimal self-signed X.509 v3
 * certificate by hand (DER) whose subject public key IS the node key, so the TLS 1.3
 * CertificateVerify proves possession of the node key and the peer's identity is simply
 * the certificate's raw public key. (No CA: authorization is the on-chain node registry.)
 */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const ALG_ED25519 = Buffer.from('300506032b6570', 'hex');

export interface TlsIdentity {
  certPem: string;
  keyPem: string;
  publicKey: Uint8Array;
}

function derLen(n: number): Buffer {
  if (n < 128) return Buffer.from([n]);
  if (n < 256) return Buffer.from([0x81, n]);
  return Buffer.from([0x82, n >> 8, n & 255]);
}
function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLen(body.length), body]);
}

export function ed25519PrivateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new Error('ed25519 seed must be 32 bytes');
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

export function makeTlsIdentity(seed: Uint8Array): TlsIdentity {
  return selfSigned(ed25519PrivateKeyFromSeed(seed), []);
}

/*
 * A node whose key stays in a PKCS#11 token cannot hand it to OpenSSL for TLS. It presents a fresh
 * in-memory transport key instead, in a certificate that carries one extension: the node key and
 * its signature (tag p2p-binding) over the transport key. TLS proves possession of the transport
 * key, the extension proves the node key endorsed it, so the peer's identity is still the node key.
 */
// OID 2.25.86611255924387985552648233828120451035 (a UUID arc: private, used only by this extension).
const BINDING_OID = tlv(0x06, Buffer.from('698182a8dca780b792b4a9a888fad2d7c68baf5b', 'hex'));
const BINDING_BYTES = 32 + 64;
// The extension as it appears in the DER: OID, then OCTET STRING(OCTET STRING(nodeKey || signature)).
const BINDING_MARKER = Buffer.concat([BINDING_OID, Buffer.from([0x04, BINDING_BYTES + 2, 0x04, BINDING_BYTES])]);

export function bindingMessage(transportPublicKey: Uint8Array): Uint8Array {
  return domainMessage(Tags.P2P_BINDING, transportPublicKey);
}

/** TLS identity over a new transport key endorsed by the node key (`signBinding` signs inside the token). */
export function makeBoundTlsIdentity(
  nodePublicKey: Uint8Array,
  signBinding: (message: Uint8Array) => Uint8Array,
): TlsIdentity {
  const t = transportKey();
  return boundIdentity(nodePublicKey, t, signBinding(bindingMessage(t.publicKey)));
}

/** The same, for a node key that signs only asynchronously (a KMS key): built once, at start-up. */
export async function makeBoundTlsIdentityAsync(
  nodePublicKey: Uint8Array,
  signBinding: (message: Uint8Array) => Promise<Uint8Array>,
): Promise<TlsIdentity> {
  const t = transportKey();
  return boundIdentity(nodePublicKey, t, await signBinding(bindingMessage(t.publicKey)));
}

function transportKey(): { priv: KeyObject; publicKey: Uint8Array } {
  const priv = generateKeyPairSync('ed25519').privateKey;
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  return { priv, publicKey: new Uint8Array(spki.subarray(SPKI_ED25519_PREFIX.length)) };
}

function boundIdentity(
  nodePublicKey: Uint8Array,
  t: { priv: KeyObject; publicKey: Uint8Array },
  sig: Uint8Array,
): TlsIdentity {
  if (!verify(nodePublicKey, bindingMessage(t.publicKey), sig))
    throw new Error('the node key did not sign the p2p transport binding');
  const ext = tlv(0x30, BINDING_OID, tlv(0x04, tlv(0x04, Buffer.from(nodePublicKey), Buffer.from(sig))));
  return { ...selfSigned(t.priv, [ext]), publicKey: new Uint8Array(nodePublicKey) };
}

function selfSigned(priv: KeyObject, extensions: Buffer[]): TlsIdentity {
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  const name = tlv(
    0x30,
    tlv(0x31, tlv(0x30, Buffer.from('0603550403', 'hex'), tlv(0x0c, Buffer.from('consortia-node')))),
  );
  const validity = tlv(0x30, tlv(0x17, Buffer.from('200101000000Z')), tlv(0x18, Buffer.from('99991231235959Z')));
  const exts = extensions.length > 0 ? [tlv(0xa3, tlv(0x30, ...extensions))] : [];
  const tbs = tlv(
    0x30,
    Buffer.from('a003020102', 'hex'),
    tlv(0x02, Buffer.from([1])),
    ALG_ED25519,
    name,
    validity,
    name,
    spki,
    ...exts,
  );
  const sig = sign(null, tbs, priv);
  const der = tlv(0x30, tbs, ALG_ED25519, tlv(0x03, Buffer.from([0]), sig));
  const b64 = der
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n');
  return {
    certPem: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
    keyPem: priv.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKey: new Uint8Array(spki.subarray(SPKI_ED25519_PREFIX.length)),
  };
}

/** Raw 32-byte Ed25519 key of a peer certificate, or null if it is not an Ed25519 cert. */
export function peerKeyFromCert(cert: X509Certificate | undefined): Uint8Array | null {
  if (!cert) return null;
  const key = cert.publicKey;
  if (key.asymmetricKeyType !== 'ed25519') return null;
  const spki = key.export({ format: 'der', type: 'spki' });
  if (spki.length !== 44 || !spki.subarray(0, 12).equals(SPKI_ED25519_PREFIX)) return null;
  const certKey = new Uint8Array(spki.subarray(12));
  // A bound certificate names its node key; it counts only if that key signed this certificate's key.
  const at = cert.raw.indexOf(BINDING_MARKER);
  if (at < 0) return certKey;
  const b = cert.raw.subarray(at + BINDING_MARKER.length, at + BINDING_MARKER.length + BINDING_BYTES);
  if (b.length !== BINDING_BYTES) return null;
  const nodeKey = new Uint8Array(b.subarray(0, 32));
  return verify(nodeKey, bindingMessage(certKey), new Uint8Array(b.subarray(32))) ? nodeKey : null;
}
