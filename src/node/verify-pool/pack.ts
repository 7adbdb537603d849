import { Tags } from '../../chain/index.js';

/**
 * One signature to check: the signed message is utf8(tag) || 0x00 || payload, exactly as
 * src/chain/keys.ts verifyDomain builds it (which is what the worker calls).
 */
export interface VerifyItem {
  tag: string;
  publicKey: Uint8Array;
  payload: Uint8Array;
  signature: Uint8Array;
}

/** The signing domains, by index (the wire form of a tag inside a job). */
export const SIGNING_TAGS: readonly string[] = Object.values(Tags);

// A job is one ArrayBuffer (transferred, not cloned): u32 count, then per item u8 tag index,
// u32 lengths of key, payload and signature, and those bytes. Lengths are kept as given, so a
// malformed key or signature reaches verifyDomain as it is and fails there exactly as inline.
const ITEM_HEADER_BYTES = 1 + 4 * 3;

export function packItems(items: readonly VerifyItem[]): ArrayBuffer {
  let n = 4;
  for (const it of items) n += ITEM_HEADER_BYTES + it.publicKey.length + it.payload.length + it.signature.length;
  const buf = new ArrayBuffer(n);
  const u8 = new Uint8Array(buf);
  const dv = new DataView(buf);
  dv.setUint32(0, items.length, true);
  let o = 4;
  for (const it of items) {
    const t = SIGNING_TAGS.indexOf(it.tag);
    if (t < 0) throw new TypeError(`unknown signing tag ${it.tag}`);
    dv.setUint8(o, t);
    dv.setUint32(o + 1, it.publicKey.length, true);
    dv.setUint32(o + 5, it.payload.length, true);
    dv.setUint32(o + 9, it.signature.length, true);
    o += ITEM_HEADER_BYTES;
    for (const part of [it.publicKey, it.payload, it.signature]) {
      u8.set(part, o);
      o += part.length;
    }
  }
  return buf;
}

/** The items of a packed job, as views into `buf`. */
export function unpackItems(buf: ArrayBuffer): VerifyItem[] {
  const u8 = new Uint8Array(buf);
  const dv = new DataView(buf);
  const count = dv.getUint32(0, true);
  const out: VerifyItem[] = new Array(count);
  let o = 4;
  for (let i = 0; i < count; i++) {
    const tag = SIGNING_TAGS[dv.getUint8(o)];
    if (tag === undefined) throw new TypeError('unknown signing tag index');
    const pkLen = dv.getUint32(o + 1, true);
    const payloadLen = dv.getUint32(o + 5, true);
    const sigLen = dv.getUint32(o + 9, true);
    o += ITEM_HEADER_BYTES;
    const publicKey = u8.subarray(o, o + pkLen);
    o += pkLen;
    const payload = u8.subarray(o, o + payloadLen);
    o += payloadLen;
    const signature = u8.subarray(o, o + sigLen);
    o += sigLen;
    out[i] = { tag, publicKey, payload, signature };
  }
  return out;
}
