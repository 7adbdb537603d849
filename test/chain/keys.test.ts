import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  generateKeyPair,
  sign,
  verify,
  portable,
  signDomain,
  verifyDomain,
  Tags,
  publicKeyFromSecret,
  signTx,
  verifyTxSignature,
  txSignBytes,
  voteSignBytes,
  signProofOfPossession,
  verifyProofOfPossession,
  signDomainPortable,
  verifyDomainPortable,
} from '../../src/chain/index.js';

describe('ed25519: node:crypto and @noble/curves', () => {
  it('derive the same public key from a seed', () => {
    const kp = generateKeyPair();
    expect(portable.getPublicKey(kp.secretKey)).toEqual(kp.publicKey);
    const pk2 = portable.generateKeyPair();
    expect(publicKeyFromSecret(pk2.secretKey)).toEqual(pk2.publicKey);
  });

  it('cross-verify both ways on random messages', () => {
    const a = generateKeyPair();
    const b = portable.generateKeyPair();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (msg) => {
        const s1 = sign(a.secretKey, msg);
        expect(portable.verify(a.publicKey, msg, s1)).toBe(true);
        const s2 = portable.sign(b.secretKey, msg);
        expect(verify(b.publicKey, msg, s2)).toBe(true);
        // deterministic RFC 8032: both produce identical signatures
        expect(portable.sign(a.secretKey, msg)).toEqual(s1);
      }),
      { numRuns: 40 },
    );
  });

  it('reject tampered messages, signatures and wrong keys', () => {
    const a = generateKeyPair();
    const msg = new Uint8Array([1, 2, 3]);
    const sig = sign(a.secretKey, msg);
    const bad = sig.slice();
    bad[5]! ^= 1;
    expect(verify(a.publicKey, msg, bad)).toBe(false);
    expect(portable.verify(a.publicKey, msg, bad)).toBe(false);
    expect(verify(a.publicKey, new Uint8Array([1, 2, 4]), sig)).toBe(false);
    expect(verify(generateKeyPair().publicKey, msg, sig)).toBe(false);
    expect(verify(a.publicKey, msg, sig.subarray(0, 63))).toBe(false);
    expect(verify(new Uint8Array(31), msg, sig)).toBe(false);
  });
});

describe('domain separation', () => {
  it('a signature under one tag does not verify under another', () => {
    const kp = generateKeyPair();
    const payload = new Uint8Array([9, 9, 9]);
    const sig = signDomain(Tags.TX, kp.secretKey, payload);
    expect(verifyDomain(Tags.TX, kp.publicKey, payload, sig)).toBe(true);
    for (const t of [Tags.VOTE, Tags.PROPOSAL, Tags.POP, Tags.GENESIS_APPROVAL, Tags.GOV_VOTE]) {
      expect(verifyDomain(t, kp.publicKey, payload, sig)).toBe(false);
    }
    expect(verify(kp.publicKey, payload, sig)).toBe(false); // raw payload is never what is signed
  });

  it('a tx signature does not verify as a consensus vote over the same bytes', () => {
    const kp = generateKeyPair();
    const tx = signTx({ chainId: 'c', signer: kp.publicKey, nonce: 0, body: { type: 'create_account' } }, kp.secretKey);
    expect(verifyTxSignature(tx)).toBe(true);
    expect(verifyDomain(Tags.VOTE, kp.publicKey, txSignBytes(tx), tx.signature)).toBe(false);
    const vote = voteSignBytes('c', 'precommit', 1, 0, new Uint8Array(32));
    const vsig = signDomain(Tags.VOTE, kp.secretKey, vote);
    expect(verifyDomain(Tags.TX, kp.publicKey, vote, vsig)).toBe(false);
  });

  it('portable domain signing matches node:crypto and PoP binds the chain id', () => {
    const kp = portable.generateKeyPair();
    const p = new Uint8Array([1]);
    expect(verifyDomain(Tags.POP, kp.publicKey, p, signDomainPortable(Tags.POP, kp.secretKey, p))).toBe(true);
    expect(verifyDomainPortable(Tags.POP, kp.publicKey, p, signDomain(Tags.POP, kp.secretKey, p))).toBe(true);
    const pop = signProofOfPossession('a', kp.secretKey, kp.publicKey);
    expect(verifyProofOfPossession('a', kp.publicKey, pop)).toBe(true);
    expect(verifyProofOfPossession('b', kp.publicKey, pop)).toBe(false);
  });
});
