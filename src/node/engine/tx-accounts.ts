import { decodeTxShared, pkHexOf } from '../../chain/index.js';

/** Accounts a committed tx touches (signer, plus the recipient of a transfer or issue), as hex. */
export function accountsOfTx(bytes: Uint8Array): string[] {
  try {
    const tx = decodeTxShared(bytes); // decoded once already by execution
    const out = [pkHexOf(tx.signer)]; // memoized per decoded tx (execution computed it)
    const b = tx.body;
    if ((b.type === 'transfer' || b.type === 'issue_asset') && pkHexOf(b.to) !== out[0]) out.push(pkHexOf(b.to));
    return out;
  } catch {
    return []; // an undecodable tx in a block touches no account
  }
}
