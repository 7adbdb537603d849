/**
 * Length-prefixed frames: u32 BE length (of channel byte + payload), u8 channel, payload.
 * The decoder accumulates chunks and yields whole frames; an oversized length is a protocol
 * violation (the connection is dropped by the caller).
 */
export const Channel = { consensus: 1, mempool: 2, sync: 3 } as const;
/** Ping/pong between the network layers (network.ts); used only with peers that negotiated it (ALPN), never handed to the node. */
export const CONTROL_CHANNEL = 4;
export type ChannelName = keyof typeof Channel;
export const CHANNEL_NAMES: Record<number, ChannelName> = { 1: 'consensus', 2: 'mempool', 3: 'sync' };
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

export function encodeFrame(channel: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out.writeUInt32BE(payload.length + 1, 0);
  out[4] = channel;
  out.set(payload, 5);
  return out;
}

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes needed before the pending frame is complete (0 = unknown): large frames arrive in many TLS records, and concatenating on every record was quadratic. */
  private need = 0;

  constructor(private readonly maxFrame = MAX_FRAME_BYTES) {}

  /** Feeds a chunk; returns complete frames. Throws on an invalid length. */
  push(chunk: Buffer): { channel: number; payload: Buffer }[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < this.need) return [];
    const frames: { channel: number; payload: Buffer }[] = [];
    let buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32BE(off);
      if (len < 1 || len > this.maxFrame) throw new Error(`invalid frame length ${len}`);
      if (buf.length - off - 4 < len) {
        this.need = 4 + len;
        break;
      }
      frames.push({ channel: buf[off + 4]!, payload: buf.subarray(off + 5, off + 4 + len) });
      off += 4 + len;
    }
    buf = buf.subarray(off);
    if (buf.length < 4 || buf.length >= this.need) this.need = 0;
    this.chunks = buf.length ? [buf] : [];
    this.buffered = buf.length;
    return frames;
  }
}
