import { CodecError, ChainCodes } from './errors.js';

/** Canonical binary writer: big-endian ints, u32 length-prefixed bytes/strings, fixed-size keys. */
export class Writer {
  private buf: Uint8Array;
  private dv: DataView;
  private pos = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
    this.dv = new DataView(this.buf.buffer);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.pos));
    this.buf = nb;
    this.dv = new DataView(nb.buffer);
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.ensure(2);
    this.dv.setUint16(this.pos, v);
    this.pos += 2;
    return this;
  }
  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
      throw new CodecError(ChainCodes.CODEC_RANGE, `u32 out of range: ${v}`);
    this.ensure(4);
    this.dv.setUint32(this.pos, v);
    this.pos += 4;
    return this;
  }
  /** u64 from a bigint or a safe non-negative integer. */
  u64(v: bigint | number): this {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v) || v < 0) throw new CodecError(ChainCodes.CODEC_RANGE, `u64 out of range: ${v}`);
      this.ensure(8);
      this.dv.setUint32(this.pos, Math.floor(v / 0x100000000));
      this.dv.setUint32(this.pos + 4, v >>> 0);
    } else {
      if (v < 0n || v > 0xffffffffffffffffn) throw new CodecError(ChainCodes.CODEC_RANGE, `u64 out of range: ${v}`);
      this.ensure(8);
      this.dv.setBigUint64(this.pos, v);
    }
    this.pos += 8;
    return this;
  }
  bool(v: boolean): this {
    return this.u8(v ? 1 : 0);
  }
  /** Fixed-length bytes (no prefix); length is checked. */
  fixed(b: Uint8Array, len: number): this {
    if (!(b instanceof Uint8Array) || b.length !== len) {
      throw new CodecError(ChainCodes.CODEC_INVALID, `expected ${len} bytes, got ${b?.length}`);
    }
    this.ensure(len);
    this.buf.set(b, this.pos);
    this.pos += len;
    return this;
  }
  /** u32 length-prefixed bytes. */
  bytes(b: Uint8Array): this {
    this.u32(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  raw(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  /** u32 length-prefixed UTF-8; `max` (bytes) mirrors the decoder's limit so encoders never emit undecodable data. */
  string(s: string, max?: number): this {
    // worst case 3 bytes per UTF-16 unit; encodeInto avoids an intermediate array
    this.ensure(4 + s.length * 3);
    const start = this.pos + 4;
    const { written } = textEncoder.encodeInto(s, this.buf.subarray(start));
    if (max !== undefined && written > max)
      throw new CodecError(ChainCodes.CODEC_OVERSIZE, `string of ${written} bytes exceeds limit ${max}`);
    this.dv.setUint32(this.pos, written);
    this.pos = start + written;
    return this;
  }
  get length(): number {
    return this.pos;
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Strict reader; every failure is a CodecError. Call end() to reject trailing bytes. */
export class Reader {
  private pos = 0;
  private readonly dv: DataView;

  constructor(private readonly buf: Uint8Array) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new CodecError(ChainCodes.CODEC_TRUNCATED, `truncated input: need ${n} bytes at offset ${this.pos}`);
    }
  }
  get offset(): number {
    return this.pos;
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.dv.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.dv.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.dv.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }
  /** u64 that must fit in a JS safe integer. */
  u64n(): number {
    this.need(8);
    const hi = this.dv.getUint32(this.pos);
    const lo = this.dv.getUint32(this.pos + 4);
    if (hi > 0x1fffff) throw new CodecError(ChainCodes.CODEC_RANGE, 'integer exceeds 2^53-1');
    this.pos += 8;
    return hi * 0x100000000 + lo;
  }
  bool(): boolean {
    const v = this.u8();
    if (v > 1) throw new CodecError(ChainCodes.CODEC_NON_CANONICAL, `bool must be 0 or 1, got ${v}`);
    return v === 1;
  }
  /** Fixed-length bytes, copied (so decoded objects never alias the input buffer). */
  fixed(len: number): Uint8Array {
    this.need(len);
    const out = this.buf.slice(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  /** Fixed-length bytes as a view into the input (no copy): only for input nobody mutates. */
  view(len: number): Uint8Array {
    this.need(len);
    const out = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.pos, len); // plain, even over a Buffer
    this.pos += len;
    return out;
  }
  bytes(max: number): Uint8Array {
    return this.fixed(this.lengthPrefix(max));
  }
  /** Length-prefixed bytes as a view into the input (see view()). */
  bytesView(max: number): Uint8Array {
    return this.view(this.lengthPrefix(max));
  }
  private lengthPrefix(max: number): number {
    const n = this.u32();
    if (n > max) throw new CodecError(ChainCodes.CODEC_OVERSIZE, `byte string of ${n} exceeds limit ${max}`);
    return n;
  }
  string(maxBytes: number): string {
    const n = this.u32();
    if (n > maxBytes) throw new CodecError(ChainCodes.CODEC_OVERSIZE, `string of ${n} bytes exceeds limit ${maxBytes}`);
    this.need(n);
    let s: string;
    try {
      s = textDecoder.decode(this.buf.subarray(this.pos, this.pos + n));
    } catch {
      throw new CodecError(ChainCodes.CODEC_INVALID, 'invalid UTF-8');
    }
    this.pos += n;
    return s;
  }
  /** Array count with an upper limit. */
  count(max: number): number {
    const n = this.u32();
    if (n > max) throw new CodecError(ChainCodes.CODEC_OVERSIZE, `count ${n} exceeds limit ${max}`);
    return n;
  }
  end(): void {
    if (this.pos !== this.buf.length) {
      throw new CodecError(ChainCodes.CODEC_TRAILING_BYTES, `${this.buf.length - this.pos} trailing bytes`);
    }
  }
}

/** Limits applied by the decoders (hard caps; chain params may be stricter). */
export const Limits = {
  chainId: 64,
  id: 128, // memberId, proposalId, asset id, names
  metadata: 1024,
  maxTxBytes: 1024 * 1024,
  maxBlockBytes: 64 * 1024 * 1024,
  maxBlockTxs: 100_000,
  maxList: 1024, // members, keys, votes, validators, signatures, evidence
} as const;

export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}
