import { bytesEqual, toHex } from '../bytes.js';

/**
 * State key strings of a public key (StateKeys.account / balance build them here), made once per
 * key. A transfer reads its account and two balances at admission and again at execution, and the
 * commit indexes both accounts: building and hashing those strings each time was a visible share
 * of a tx's cost. Looked up by content without allocating (a small-integer prefix of the key,
 * then a byte compare), so a hot account's strings are shared by all its txs and nothing per tx
 * is created or retained.
 */
export interface PkKeys {
  readonly pk: Uint8Array;
  readonly hex: string;
  readonly account: string;
  readonly balances: Map<string, string>;
}
const LIMIT = 100_000; // recently active keys; cleared when full and refilled by the hot ones
const memo = new Map<number, PkKeys | PkKeys[]>();
let count = 0;

/** The account state key of a public key's lowercase hex (StateKeys.account / accountOfHex). */
export const accountKeyOfHex = (hex: string): string => `acct/${hex}`;

export function keysOf(pk: Uint8Array): PkKeys {
  const id = ((pk[0]! << 22) ^ (pk[1]! << 14) ^ (pk[2]! << 6) ^ pk[3]! ^ (pk[4]! << 16)) & 0x3fffffff; // a small integer key
  const e = memo.get(id);
  if (e !== undefined) {
    if (!Array.isArray(e)) {
      if (bytesEqual(e.pk, pk)) return e;
    } else for (const x of e) if (bytesEqual(x.pk, pk)) return x;
  }
  const hex = toHex(pk);
  const k: PkKeys = { pk: pk.slice(), hex, account: accountKeyOfHex(hex), balances: new Map() };
  if (count >= LIMIT) {
    memo.clear();
    count = 0;
  }
  const cur = memo.get(id); // after a clear, start the bucket again
  if (cur === undefined) memo.set(id, k);
  else if (Array.isArray(cur)) cur.push(k);
  else memo.set(id, [cur, k]);
  count++;
  return k;
}

/** The balance key of one public key's keys for `asset` (StateKeys.balance). */
export function balanceKey(k: PkKeys, asset: string): string {
  let s = k.balances.get(asset);
  if (s === undefined) {
    s = `bal/${k.hex}/${asset}`;
    if (k.balances.size < 64) k.balances.set(asset, s); // a key holds few assets; stay bounded anyway
  }
  return s;
}

/** Lowercase hex of a public key (memoized like its keys). */
export const pkHexOf = (pk: Uint8Array): string => keysOf(pk).hex;
