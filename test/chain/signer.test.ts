import { describe, expect, it } from 'vitest';
import {
  encodeTx,
  secretKeySigner,
  signTx,
  signTxWith,
  verifyTxSignature,
  type Signer,
  type UnsignedTx,
} from '../../src/chain/index.js';
import { key } from './fixtures.js';

describe('Signer (the key-custody seam)', () => {
  const k = key(5);
  const u: UnsignedTx = {
    chainId: 'c',
    signer: k.publicKey,
    nonce: 3,
    body: { type: 'anchor', hash: new Uint8Array(32).fill(1), metadata: 'm' },
  };

  it('signs exactly the bytes signTx signs', async () => {
    const tx = await signTxWith(secretKeySigner(k.secretKey), u);
    expect(verifyTxSignature(tx)).toBe(true);
    expect(encodeTx(tx)).toEqual(encodeTx(signTx(u, k.secretKey))); // Ed25519 is deterministic
  });

  it('refuses a signature that does not verify (wrong key or wrong bytes)', async () => {
    const other = secretKeySigner(key(6).secretKey);
    const lying: Signer = { publicKey: k.publicKey, sign: (m) => other.sign(m) };
    await expect(signTxWith(lying, u)).rejects.toMatchObject({ code: 'CODEC_INVALID' });
  });
});
