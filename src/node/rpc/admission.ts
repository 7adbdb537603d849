import { setImmediate as nextTurn } from 'node:timers/promises';
import { txHash } from '../../chain/index.js';
import { ConsortiaError, isConsortiaError } from '../../lib/errors.js';
import type { TxBatchItemResult } from './backend.js';
import { NodeApiCodes } from './errors.js';
import { ADMIT_QUEUE_TXS_MAX, ADMIT_SLICE_MS, ADMIT_STEP_TXS } from './limits.js';

/** Admits a few encoded txs (in order) and returns one result each; may be synchronous work behind a promise. */
export type AdmitStep = (txs: Uint8Array[]) => Promise<TxBatchItemResult[]>;

export interface AdmissionLimits {
  /** Work per event-loop turn, ms. */
  sliceMs: number;
  /** Txs per admission step (a function: asked at every step, the node's verifier can change at genesis). */
  stepTxs: number | (() => number);
  /** Txs queued over all requests. */
  maxQueuedTxs: number;
}

interface Job {
  items: Uint8Array[];
  results: TxBatchItemResult[];
  next: number;
  resolve: (r: TxBatchItemResult[]) => void;
}

export function rejectionOf(err: unknown, item: Uint8Array | null): TxBatchItemResult {
  const hash = item && item.length > 0 ? txHash(item) : null;
  if (isConsortiaError(err)) return { status: 'rejected', hash, code: err.code, message: err.message };
  return { status: 'rejected', hash, code: NodeApiCodes.INTERNAL, message: 'internal error' };
}

/**
 * Admission of txs submitted in batches over the API, shared by all requests: decoding and
 * signature verification are synchronous (~0.1 ms a tx), so a batch admitted in one go holds the
 * event loop, and the votes and proposals waiting behind it, for as long as it takes. Here at most
 * `sliceMs` of admission runs per event-loop turn, a step of `stepTxs` at a time, each step a share
 * of every waiting batch (a big batch does not hold a small one back); the loop then serves
 * consensus and other requests before the next slice. The queue is bounded: a batch that would
 * take it over `maxQueuedTxs` is refused whole with 503 BUSY.
 */
export class AdmissionQueue {
  private readonly jobs: Job[] = [];
  private queued = 0;
  private draining = false;

  constructor(
    private readonly step: AdmitStep,
    private readonly limits: AdmissionLimits = {
      sliceMs: ADMIT_SLICE_MS,
      stepTxs: ADMIT_STEP_TXS,
      maxQueuedTxs: ADMIT_QUEUE_TXS_MAX,
    },
  ) {}

  /** Txs waiting for admission. */
  get size(): number {
    return this.queued;
  }

  /** Results in the order of `items`. Throws BUSY (nothing admitted) when the queue has no room for all of them. */
  submit(items: Uint8Array[]): Promise<TxBatchItemResult[]> {
    if (items.length === 0) return Promise.resolve([]);
    if (this.queued + items.length > this.limits.maxQueuedTxs) {
      throw new ConsortiaError(NodeApiCodes.BUSY, `the node is admitting ${this.queued} txs already; retry shortly`, {
        limit: this.limits.maxQueuedTxs,
        unit: 'queued txs',
        queued: this.queued,
        retryAfterSeconds: 1,
      });
    }
    return new Promise((resolve) => {
      this.jobs.push({ items, results: new Array<TxBatchItemResult>(items.length), next: 0, resolve });
      this.queued += items.length;
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      // the first slice waits for the next turn too: the request that queued it returns first
      while (this.jobs.length > 0) {
        await nextTurn();
        const end = performance.now() + this.limits.sliceMs;
        do {
          const step = typeof this.limits.stepTxs === 'function' ? this.limits.stepTxs() : this.limits.stepTxs;
          // A step carries txs of every waiting batch in turn, an equal share each: a small batch is
          // not held behind a big one, and a backlog of small batches costs as few verify round
          // trips as one big batch (one step per batch, a node took 5-8 s to answer a batch under
          // overload: BENCH_SLOW=1 bench:chain).
          const share = Math.max(1, Math.ceil(step / this.jobs.length));
          const parts: { job: Job; from: number; n: number }[] = [];
          for (let room = step, waiting = this.jobs.length; waiting > 0 && room > 0; waiting--) {
            const job = this.jobs.shift()!;
            const n = Math.min(share, room, job.items.length - job.next);
            parts.push({ job, from: job.next, n });
            room -= n;
          }
          const chunk = parts.flatMap((p) => p.job.items.slice(p.from, p.from + p.n));
          let out: TxBatchItemResult[];
          try {
            out = await this.step(chunk);
          } catch (err) {
            out = chunk.map((b) => rejectionOf(err, b));
          }
          let k = 0;
          for (const { job, from, n } of parts) {
            for (let i = 0; i < n; i++, k++)
              job.results[from + i] = out[k] ?? rejectionOf(new Error('missing result'), chunk[k]!);
            job.next += n;
            this.queued -= n;
            if (job.next < job.items.length) this.jobs.push(job);
            else job.resolve(job.results);
          }
        } while (this.jobs.length > 0 && performance.now() < end);
      }
    } finally {
      this.draining = false;
    }
  }
}
