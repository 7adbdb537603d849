import { decodeTxShared, toHex } from '../../chain/index.js';

/** Accounts a committed tx touches (signer, plus the recipient of a transfer or issue), as hex. */
export function accountsOfTx(bytes: Uint8Array): string[] {
  try {
    const tx = decodeTxShared(bytes); // decoded once already by execution
    const out = [toHex(tx.signer)];
    const b = tx.body;
    if ((b.type === 'transfer' || b.type === 'issue_asset') && toHex(b.to) !== out[0]) out.push(toHex(b.to));
    return out;
  } catch {
    return []; // an undecodable tx in a block touches no account
  }
}
