import type { Signer } from '../lib/custody/signer.js';
import { ConsortiaError } from '../lib/errors.js';
import { ChainCodes } from './errors.js';
import { Tags, domainMessage, portable } from './keys.js';
import { txSignBytes, verifyTxSignature, type Tx, type UnsignedTx } from './tx.js';

// The Signer interface lives in the base layer so the custody backends (src/lib/custody) can
// implement it; this is its one definition, re-exported for chain callers.
export type { Signer } from '../lib/custody/signer.js';

/** A Signer over a secret key held in memory (pure-JS Ed25519, same bytes as signDomainPortable). */
export function secretKeySigner(secretKey: Uint8Array): Signer {
  const sk = secretKey.slice();
  const publicKey = portable.getPublicKey(sk);
  return { publicKey, sign: async (message) => portable.sign(sk, message) };
}

/**
 * Signs a tx with a Signer; the signature is checked before the tx is returned, so a custody
 * backend that signs the wrong bytes (or with another key) fails here, not at the node.
 */
export async function signTxWith(signer: Signer, u: UnsignedTx): Promise<Tx> {
  const signature = await signer.sign(domainMessage(Tags.TX, txSignBytes(u)));
  const tx: Tx = { ...u, signature };
  if (signature.length !== 64 || !verifyTxSignature(tx)) {
    throw new ConsortiaError(
      ChainCodes.CODEC_INVALID,
      'the signer returned a signature that does not verify for this tx and public key',
    );
  }
  return tx;
}
