import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Reader,
  Writer,
  ChainCodes,
  decodeAccount,
  decodeAmount,
  encodeAccount,
  encodeAmount,
  pkHexOf,
  StateKeys,
  txIdShared,
  txHash,
  toHex,
  isConsortiaError,
  decodeTx,
  decodeTxShared,
  encodeTx,
  signTx,
  generateKeyPair,
} from '../../src/chain/index.js';

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return isConsortiaError(e) ? e.code : 'not a ConsortiaError';
  }
};

describe('account and balance records (hot-path codecs)', () => {
  it('encode exactly like the generic Writer and decode like the Reader', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }), (v) => {
        const generic = new Writer(8).u64(v).finish();
        expect(encodeAmount(v)).toEqual(generic);
        expect(decodeAmount(generic)).toBe(new Reader(generic).u64());
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => {
        const b = encodeAccount({ nonce: n });
        expect(decodeAccount(b)).toEqual({ nonce: n });
        expect(b).toEqual(new Writer(8).u64(n).finish());
      }),
    );
  });

  it('reject truncated, trailing and out-of-range input with typed errors', () => {
    expect(codeOf(() => decodeAmount(new Uint8Array(7)))).toBe(ChainCodes.CODEC_TRUNCATED);
    expect(codeOf(() => decodeAmount(new Uint8Array(9)))).toBe(ChainCodes.CODEC_TRAILING_BYTES);
    expect(codeOf(() => decodeAccount(new Uint8Array(9)))).toBe(ChainCodes.CODEC_TRAILING_BYTES);
    expect(codeOf(() => decodeAccount(new Uint8Array([0, 0x20, 0, 0, 0, 0, 0, 0])))).toBe(ChainCodes.CODEC_RANGE); // > 2^53-1
    expect(codeOf(() => encodeAmount(-1n))).toBe(ChainCodes.CODEC_RANGE);
    expect(codeOf(() => encodeAmount(1n << 64n))).toBe(ChainCodes.CODEC_RANGE);
  });

  it('decodes a value inside a larger buffer (subarray) correctly', () => {
    const big = new Uint8Array(24);
    big.set(encodeAmount(123456789012345678n), 8);
    expect(decodeAmount(big.subarray(8, 16))).toBe(123456789012345678n);
  });
});

describe('memoized public-key state keys', () => {
  it('are the documented key strings, also when read again from the memo', () => {
    const pk = new Uint8Array(32).map((_, i) => i * 7);
    const hex = toHex(pk);
    expect(pkHexOf(pk)).toBe(hex);
    expect(StateKeys.account(pk)).toBe('acct/' + hex);
    expect(StateKeys.balance(pk, 'USD')).toBe('bal/' + hex + '/USD');
    expect(StateKeys.balance(pk, 'EUR')).toBe('bal/' + hex + '/EUR');
    expect(StateKeys.balance(pk, 'USD')).toBe('bal/' + hex + '/USD'); // second (memoized) read
    expect(StateKeys.balancePrefix(pk)).toBe('bal/' + hex + '/');
  });

  it('keys that share a prefix (same memo bucket) keep their own strings; a mutated input array does not alter them', () => {
    const a = new Uint8Array(32).fill(9);
    const b = new Uint8Array(32).fill(9);
    b[31] = 1;
    const c = new Uint8Array(32).fill(9);
    c[20] = 2;
    for (let round = 0; round < 2; round++) {
      for (const pk of [a, b, c]) {
        expect(StateKeys.account(pk)).toBe('acct/' + toHex(pk));
        expect(StateKeys.balance(pk, 'USD')).toBe('bal/' + toHex(pk) + '/USD');
      }
    }
    const d = new Uint8Array(32).fill(3);
    const before = StateKeys.account(d);
    d[0] = 4; // a caller reusing its array: the memo is by content, so the new content gets its own key
    expect(StateKeys.account(d)).toBe('acct/' + toHex(d));
    expect(StateKeys.account(new Uint8Array(32).fill(3))).toBe(before);
  });

  it('txIdShared is the tx hash and its hex, and is per bytes object', () => {
    const a = new Uint8Array([1, 2, 3]);
    const id = txIdShared(a);
    expect(id.hash).toEqual(txHash(a));
    expect(id.hex).toBe(toHex(txHash(a)));
    expect(txIdShared(a)).toBe(id);
    expect(txIdShared(new Uint8Array([1, 2, 3]))).not.toBe(id);
  });
});

describe('decodeTxShared (views into the tx bytes)', () => {
  it('decodes exactly like decodeTx, with plain Uint8Array fields, also from a Buffer', () => {
    const k = generateKeyPair();
    const to = generateKeyPair().publicKey;
    const bytes = encodeTx(
      signTx(
        { chainId: 'c', signer: k.publicKey, nonce: 3, body: { type: 'transfer', asset: 'USD', to, amount: 5n } },
        k.secretKey,
      ),
    );
    for (const input of [new Uint8Array(bytes), Buffer.concat([Buffer.alloc(7), bytes]).subarray(7)]) {
      const shared = decodeTxShared(input);
      expect(shared).toEqual(decodeTx(bytes));
      expect(Buffer.isBuffer(shared.signer) || Buffer.isBuffer(shared.signature)).toBe(false);
      expect(decodeTxShared(input)).toBe(shared);
    }
  });
});
