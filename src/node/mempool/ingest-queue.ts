/**
 * Txs gossiped by peers wait here and are admitted (decoded, signature-verified) in slices
 * of at most `sliceMs` per event-loop turn. Consensus frames share the peer connections, so
 * admitting a burst of gossip inline would hold votes and proposals behind it (profiled:
 * heights took seconds while the loop verified gossip). Bounded: when `maxTxs` are queued,
 * further gossip is dropped; gossip is best effort (the origin node still proposes its txs,
 * and a proposal's txs are verified during block validation anyway).
 */
/** Admission of gossip runs for at most this long per event-loop turn, milliseconds. */
export const INGEST_SLICE_MS = 5;
/** Gossiped txs waiting for admission when no limit is given (the node passes mempool.maxTxs). */
export const INGEST_QUEUE_TXS_MAX = 100_000;

export interface IngestLimits {
  maxTxs: number;
  sliceMs: number;
}

/**
 * Admission in batches whose signatures are verified off the main thread (src/node/verify-pool):
 * up to `batchTxs` queued txs per call, at most `inFlight` calls awaiting their verify at a time
 * (the queue above stays the bound on what waits).
 */
export interface IngestBatchAdmit {
  admit: (items: { bytes: Uint8Array; peer: string }[]) => Promise<void>;
  batchTxs: number;
  inFlight: number;
}

export class IngestQueue {
  private items: { bytes: Uint8Array; peer: string }[] = [];
  private head = 0;
  private scheduled: NodeJS.Immediate | null = null;
  private stopped = false;
  private inFlight = 0;

  constructor(
    private readonly admit: (bytes: Uint8Array, peer: string) => void,
    private readonly limits: IngestLimits = { maxTxs: INGEST_QUEUE_TXS_MAX, sliceMs: INGEST_SLICE_MS },
    private readonly onDrop: (n: number) => void = () => undefined,
    private readonly batch: IngestBatchAdmit | null = null,
  ) {}

  /** Batches handed to batch.admit that have not finished. */
  get batchesInFlight(): number {
    return this.inFlight;
  }

  get size(): number {
    return this.items.length - this.head;
  }

  push(peer: string, txs: Uint8Array[]): void {
    if (this.stopped) return;
    const room = Math.max(0, this.limits.maxTxs - this.size);
    const n = Math.min(room, txs.length);
    for (let i = 0; i < n; i++) this.items.push({ bytes: txs[i]!, peer });
    if (n < txs.length) this.onDrop(txs.length - n);
    if (n > 0 && this.scheduled === null) this.scheduled = setImmediate(this.drain);
  }

  private readonly drain = (): void => {
    this.scheduled = null;
    if (this.stopped) return;
    if (this.batch) return this.drainBatches(this.batch);
    const end = performance.now() + this.limits.sliceMs;
    let n = 0;
    while (this.head < this.items.length) {
      const it = this.items[this.head]!;
      this.items[this.head++] = undefined as never; // release the bytes as we go
      try {
        this.admit(it.bytes, it.peer);
      } catch {
        /* a bad tx must not stop the queue */
      }
      if ((++n & 7) === 0 && performance.now() >= end) break;
    }
    if (this.head >= this.items.length) {
      this.items = [];
      this.head = 0;
    } else {
      if (this.head > 4096 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      this.scheduled = setImmediate(this.drain);
    }
  };

  private drainBatches(b: IngestBatchAdmit): void {
    const end = performance.now() + this.limits.sliceMs;
    while (this.head < this.items.length && this.inFlight < b.inFlight) {
      const n = Math.min(b.batchTxs, this.items.length - this.head);
      const batch = this.items.slice(this.head, this.head + n);
      this.items.fill(undefined as never, this.head, this.head + n); // release the bytes as we go
      this.head += n;
      this.inFlight++;
      const done = (): void => {
        this.inFlight--;
        if (!this.stopped && this.scheduled === null && this.size > 0) this.scheduled = setImmediate(this.drain);
      };
      let p: Promise<void>;
      try {
        p = b.admit(batch);
      } catch {
        p = Promise.resolve(); // a bad batch must not stop the queue
      }
      p.then(done, done);
      if (performance.now() >= end) break;
    }
    if (this.head >= this.items.length) {
      this.items = [];
      this.head = 0;
    } else {
      if (this.head > 4096 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      // room for another batch now: go on after other I/O; else a finishing batch resumes the drain
      if (this.inFlight < b.inFlight) this.scheduled = setImmediate(this.drain);
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    this.items = [];
    this.head = 0;
  }
}
