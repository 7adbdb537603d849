import { toHex } from '../bytes.js';

/**
 * State keys of the public keys inside a decoded tx, computed once per key object. Decoded
 * txs are immutable and shared (decodeTxShared), and a transfer is checked at admission and
 * again at execution, each reading its account and two balances: building and hashing those
 * strings was a visible share of a tx's cost. Only for key arrays nobody mutates.
 */
interface PkKeys { hex: string; account: string; balances: Map<string, string> }
const memo = new WeakMap<Uint8Array, PkKeys>();

function keysOf(pk: Uint8Array): PkKeys {
  let k = memo.get(pk);
  if (k === undefined) {
    const hex = toHex(pk);
    k = { hex, account: 'acct/' + hex, balances: new Map() };
    memo.set(pk, k);
  }
  return k;
}

/** Lowercase hex of a decoded tx's public key. */
export const pkHexOf = (pk: Uint8Array): string => keysOf(pk).hex;
/** StateKeys.account(pk) for a decoded tx's public key. */
export const accountKeyOf = (pk: Uint8Array): string => keysOf(pk).account;
/** StateKeys.balance(pk, asset) for a decoded tx's public key. */
export function balanceKeyOf(pk: Uint8Array, asset: string): string {
  const k = keysOf(pk);
  let s = k.balances.get(asset);
  if (s === undefined) {
    s = 'bal/' + k.hex + '/' + asset;
    if (k.balances.size < 64) k.balances.set(asset, s); // a key holds few assets; stay bounded anyway
  }
  return s;
}
