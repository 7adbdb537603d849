import { Tags, type Tx } from '../../chain/index.js';
import type { VerifyItem } from './pack.js';
import type { VerifyPool, VerifyPriority } from './pool.js';

/**
 * The check of src/chain/tx.ts verifyEncodedTxSignature (a tx signed over its own encoding
 * without the trailing 64-byte signature) as a pool item; null where that function returns false
 * without verifying.
 */
export function txSignatureItem(encodedTx: Uint8Array, tx: Tx): VerifyItem | null {
  if (encodedTx.length < 64) return null;
  return {
    tag: Tags.TX,
    publicKey: tx.signer,
    payload: encodedTx.subarray(0, encodedTx.length - 64),
    signature: tx.signature,
  };
}

/** verifyEncodedTxSignature of each tx, in the pool; rejects, and skips work no longer `wanted`, as VerifyPool.verify does. */
export async function verifyTxSignatures(
  pool: VerifyPool,
  txs: readonly { bytes: Uint8Array; tx: Tx }[],
  priority: VerifyPriority = 'normal',
  wanted?: () => boolean,
): Promise<boolean[]> {
  const items: VerifyItem[] = [];
  const at: number[] = new Array(txs.length);
  for (let i = 0; i < txs.length; i++) {
    const it = txSignatureItem(txs[i]!.bytes, txs[i]!.tx);
    at[i] = it === null ? -1 : items.push(it) - 1;
  }
  const r = await pool.verify(items, priority, wanted);
  return at.map((k) => k >= 0 && r[k] === true);
}
