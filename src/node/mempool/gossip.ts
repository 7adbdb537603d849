/**
 * Batched mempool gossip: admitted txs are queued and flushed as one message (count-prefixed
 * list of encoded txs) every `intervalMs` or when `maxBatchBytes` is reached, so the p2p
 * layer sends a few large frames instead of one frame per tx.
 */
export function encodeTxBatch(txs: Uint8Array[]): Buffer {
  let total = 4;
  for (const t of txs) total += 4 + t.length;
  const out = Buffer.allocUnsafe(total);
  out.writeUInt32BE(txs.length, 0);
  let off = 4;
  for (const t of txs) {
    out.writeUInt32BE(t.length, off);
    out.set(t, off + 4);
    off += 4 + t.length;
  }
  return out;
}

export function decodeTxBatch(buf: Uint8Array, maxCount = 100_000): Uint8Array[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 4) throw new Error('tx batch too short');
  const n = b.readUInt32BE(0);
  if (n > maxCount) throw new Error('tx batch too large');
  const out: Uint8Array[] = [];
  let off = 4;
  for (let i = 0; i < n; i++) {
    if (off + 4 > b.length) throw new Error('tx batch truncated');
    const len = b.readUInt32BE(off);
    if (off + 4 + len > b.length) throw new Error('tx batch truncated');
    out.push(b.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  if (off !== b.length) throw new Error('tx batch has trailing bytes');
  return out;
}

export class GossipBatcher {
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | null = null;

  // 25 ms: each flush is one TLS record + write per peer; at 10 ms those writes were a visible share
  // of a busy node's time, while 25 ms is small beside a block interval.
  constructor(
    private readonly send: (batch: Buffer) => void,
    private readonly intervalMs = 25,
    private readonly maxBatchBytes = 512 * 1024,
  ) {}

  push(tx: Uint8Array): void {
    this.queue.push(tx);
    this.queuedBytes += tx.length;
    if (this.queuedBytes >= this.maxBatchBytes) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.intervalMs);
  }

  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.queue.length === 0) return;
    const batch = encodeTxBatch(this.queue);
    this.queue = [];
    this.queuedBytes = 0;
    this.send(batch);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
  }
}
