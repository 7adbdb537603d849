import { toHex } from '../bytes.js';

/**
 * State keys of the public keys inside txs, built once per key (by content). A transfer reads
 * its account and two balances at admission and again at execution, and the commit indexes
 * both accounts: building and hashing those strings each time was a visible share of a tx's
 * cost. Keyed by content, so a hot account's strings are shared by all its txs and nothing
 * per-tx is retained (a per-tx memo kept pending txs' young objects alive for the GC to copy).
 */
interface PkKeys { hex: string; account: string; balances: Map<string, string> }
const LIMIT = 100_000; // recently active keys; cleared when full and refilled by the hot ones
const memo = new Map<string, PkKeys>();

function keysOf(pk: Uint8Array): PkKeys {
  const id = Buffer.from(pk.buffer, pk.byteOffset, pk.byteLength).toString('latin1');
  let k = memo.get(id);
  if (k === undefined) {
    const hex = toHex(pk);
    k = { hex, account: 'acct/' + hex, balances: new Map() };
    if (memo.size >= LIMIT) memo.clear();
    memo.set(id, k);
  }
  return k;
}

/** Lowercase hex of a public key. */
export const pkHexOf = (pk: Uint8Array): string => keysOf(pk).hex;
/** StateKeys.account(pk). */
export const accountKeyOf = (pk: Uint8Array): string => keysOf(pk).account;
/** StateKeys.balance(pk, asset). */
export function balanceKeyOf(pk: Uint8Array, asset: string): string {
  const k = keysOf(pk);
  let s = k.balances.get(asset);
  if (s === undefined) {
    s = 'bal/' + k.hex + '/' + asset;
    if (k.balances.size < 64) k.balances.set(asset, s); // a key holds few assets; stay bounded anyway
  }
  return s;
}
