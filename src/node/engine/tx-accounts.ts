import { decodeTxShared, pkHexOf } from '../../chain/index.js';

/** Accounts a committed tx touches (signer, plus the recipient of a transfer or issue, or the issuer an asset is created for), as hex. */
export function accountsOfTx(bytes: Uint8Array): string[] {
  try {
    const tx = decodeTxShared(bytes); // decoded once already by execution
    const out = [pkHexOf(tx.signer)]; // memoized per decoded tx (execution computed it)
    const b = tx.body;
    const other =
      b.type === 'transfer' || b.type === 'issue_asset' ? b.to : b.type === 'create_asset' ? b.issuer : undefined;
    if (other && pkHexOf(other) !== out[0]) out.push(pkHexOf(other));
    return out;
  } catch {
    return []; // an undecodable tx in a block touches no account
  }
}
