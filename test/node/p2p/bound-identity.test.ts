import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateKeyPair, sign } from '../../../src/chain/index.js';
import {
  makeBoundTlsIdentity,
  makeBoundTlsIdentityAsync,
  makeTlsIdentity,
  peerKeyFromCert,
} from '../../../src/node/p2p/index.js';

describe('p2p TLS identity bound to a node key held elsewhere', () => {
  it('a bound certificate identifies its peer by the node key that endorsed the transport key', () => {
    const node = generateKeyPair();
    const id = makeBoundTlsIdentity(node.publicKey, (m) => sign(node.secretKey, m));
    const cert = new X509Certificate(id.certPem);
    expect(Buffer.from(id.publicKey).equals(Buffer.from(node.publicKey))).toBe(true);
    expect(Buffer.from(peerKeyFromCert(cert)!).equals(Buffer.from(node.publicKey))).toBe(true);
    // The certificate's own key is a fresh transport key, not the node key.
    expect(
      cert.publicKey.export({ format: 'der', type: 'spki' }).subarray(12).equals(Buffer.from(node.publicKey)),
    ).toBe(false);
  });

  it('refuses to build a binding the node key did not sign', () => {
    const node = generateKeyPair();
    const other = generateKeyPair();
    expect(() => makeBoundTlsIdentity(node.publicKey, (m) => sign(other.secretKey, m))).toThrow(/did not sign/);
  });

  it('is built the same way by a node key that signs asynchronously (KMS), and refused the same way', async () => {
    const node = generateKeyPair();
    const id = await makeBoundTlsIdentityAsync(node.publicKey, async (m) => sign(node.secretKey, m));
    expect(Buffer.from(peerKeyFromCert(new X509Certificate(id.certPem))!).equals(Buffer.from(node.publicKey))).toBe(
      true,
    );
    const other = generateKeyPair();
    await expect(makeBoundTlsIdentityAsync(node.publicKey, async (m) => sign(other.secretKey, m))).rejects.toThrow(
      /did not sign/,
    );
  });

  it('a certificate claiming a node key whose binding signature does not verify identifies no one', () => {
    const node = generateKeyPair();
    const id = makeBoundTlsIdentity(node.publicKey, (m) => sign(node.secretKey, m));
    const der = Buffer.from(new X509Certificate(id.certPem).raw);
    // Claim another node key in the extension (same length, so the DER stays well-formed).
    const claimed = generateKeyPair().publicKey;
    const at = der.indexOf(Buffer.from(node.publicKey));
    expect(at).toBeGreaterThan(0);
    Buffer.from(claimed).copy(der, at);
    expect(peerKeyFromCert(new X509Certificate(der))).toBeNull();
  });

  it('a plain certificate is still identified by its own key', () => {
    const node = generateKeyPair();
    const id = makeTlsIdentity(node.secretKey);
    expect(Buffer.from(peerKeyFromCert(new X509Certificate(id.certPem))!).equals(Buffer.from(node.publicKey))).toBe(
      true,
    );
  });
});
