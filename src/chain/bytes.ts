import { hash as nodeHash, createHash } from 'node:crypto';
import { CodecError, ChainCodes } from './errors.js';

export type Hash = Uint8Array;

export const ZERO_HASH: Hash = new Uint8Array(32);

/** A plain Uint8Array over the same bytes (a node Buffer is not toEqual to one; hashes are compared as plain arrays). */
export function plainBytes(b: Uint8Array): Uint8Array {
  return Buffer.isBuffer(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : b;
}

/**
 * Binary strings (one char per byte, latin1) carry hot-path hashes (state and tx Merkle trees):
 * hashing into one is cheaper than into a Buffer, and the GC gets one small heap string instead
 * of a typed array, an ArrayBuffer and a malloc'd backing store. Their order and equality are
 * those of the bytes.
 */
export function binaryOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}
/** Bytes of a binary string; they land in node's pooled Buffer slab (no backing store of their own). */
export function bytesOfBinary(s: string): Uint8Array {
  return plainBytes(Buffer.from(s, 'latin1'));
}
const smallScratch = Buffer.alloc(256);
export function sha256Binary(data: Uint8Array): string {
  // A small Uint8Array made in JS (a state value) has no ArrayBuffer until native code asks for
  // one, and then gets a malloc'd backing store: hash a copy in a scratch buffer instead.
  if (data.length <= smallScratch.length && !Buffer.isBuffer(data)) {
    smallScratch.set(data);
    return nodeHash('sha256', smallScratch.subarray(0, data.length), 'binary');
  }
  return nodeHash('sha256', data, 'binary');
}
const pairScratch = Buffer.alloc(65);
/** sha256(prefix byte || a || b) of two 32-byte binary strings: a Merkle/SMT inner node. */
export function sha256PairBinary(prefix: number, a: string, b: string): string {
  pairScratch[0] = prefix;
  pairScratch.write(a, 1, 32, 'latin1');
  pairScratch.write(b, 33, 32, 'latin1');
  return nodeHash('sha256', pairScratch, 'binary');
}

/** SHA-256 of the concatenation of parts (one-shot hash when there is a single part). */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return bytesOfBinary(sha256Binary(parts[0]!));
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return bytesOfBinary(h.digest('binary'));
}

/** SHA-256 as lowercase hex. */
export function sha256Hex(data: Uint8Array): string {
  return nodeHash('sha256', data, 'hex');
}

/** SHA-256 as its lowercase hex and its bytes (hashed once; the hex is the common key). */
export function sha256WithHex(data: Uint8Array): { hash: Uint8Array; hex: string } {
  const hex = nodeHash('sha256', data, 'hex');
  return { hash: plainBytes(Buffer.from(hex, 'hex')), hex };
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

const HEX_RE = /^(?:[0-9a-f]{2})*$/;

/** Strict lowercase hex (optionally of an exact byte length); throws CODEC_INVALID otherwise. */
export function fromHex(s: string, expectLen?: number): Uint8Array {
  if (typeof s !== 'string' || !HEX_RE.test(s)) {
    throw new CodecError(ChainCodes.CODEC_INVALID, 'invalid hex string');
  }
  if (expectLen !== undefined && s.length !== expectLen * 2) {
    throw new CodecError(ChainCodes.CODEC_INVALID, `expected ${expectLen} bytes of hex`, { got: s.length / 2 });
  }
  return plainBytes(Buffer.from(s, 'hex'));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lexicographic byte order (used to sort keys canonically). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const enc = new TextEncoder();
export function utf8(s: string): Uint8Array {
  return enc.encode(s);
}
