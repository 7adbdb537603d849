import { setImmediate as nextTurn } from 'node:timers/promises';
import { txHash } from '../../chain/index.js';
import { ConsortiaError, isConsortiaError } from '../../lib/errors.js';
import type { TxBatchItemResult } from './backend.js';
import { NodeApiCodes } from './errors.js';
import { ADMIT_QUEUE_TXS_MAX, ADMIT_SLICE_MS, ADMIT_STEP_TXS, ADMIT_WAIT_MS_MAX } from './limits.js';

/** Admits a few encoded txs (in order) and returns one result each; may be synchronous work behind a promise. */
export type AdmitStep = (txs: Uint8Array[]) => Promise<TxBatchItemResult[]>;

export interface AdmissionLimits {
  /** Work per event-loop turn, ms. */
  sliceMs: number;
  /** Txs per admission step (a function: asked at every step, the node's verifier can change at genesis). */
  stepTxs: number | (() => number);
  /** Txs queued over all requests. */
  maxQueuedTxs: number;
  /**
   * Longest a tx may wait in the queue before its step, ms: a batch's txs still waiting then are
   * refused, while other batches wait behind it or `overloaded()` says the node sheds load.
   */
  waitMaxMs?: number;
  /** True while the node sheds load: then even a batch alone in the queue is held to waitMaxMs. */
  overloaded?: () => boolean;
  /**
   * The refusal of `n` txs that waited too long (e.g. 429 MEMPOOL_BUSY with when to retry; the node
   * counts them and sheds as for its backlog gate). Absent: a plain MEMPOOL_BUSY.
   */
  expired?: (n: number) => ConsortiaError;
  /** Clock, ms. */
  now?: () => number;
}

interface Job {
  items: Uint8Array[];
  /** When it was queued (limits.now). */
  at: number;
  results: TxBatchItemResult[];
  next: number;
  resolve: (r: TxBatchItemResult[]) => void;
}

export function rejectionOf(err: unknown, item: Uint8Array | null): TxBatchItemResult {
  const hash = item && item.length > 0 ? txHash(item) : null;
  if (isConsortiaError(err)) {
    const after = err.details?.['retryAfterSeconds'];
    return {
      status: 'rejected',
      hash,
      code: err.code,
      message: err.message,
      ...(typeof after === 'number' ? { retryAfterSeconds: after } : {}),
    };
  }
  return { status: 'rejected', hash, code: NodeApiCodes.INTERNAL, message: 'internal error' };
}

/**
 * Admission of txs submitted in batches over the API, shared by all requests: decoding and
 * signature verification are synchronous (~0.1 ms a tx), so a batch admitted in one go holds the
 * event loop, and the votes and proposals waiting behind it, for as long as it takes. Here at most
 * `sliceMs` of admission runs per event-loop turn, a step of `stepTxs` at a time, the oldest txs
 * first; the loop then serves consensus and other requests before the next slice. The queue is
 * bounded in txs: a batch that would take it over `maxQueuedTxs` is refused whole with 503 BUSY.
 * And in time: a batch that waited `waitMaxMs` while others wait behind it or the node sheds load
 * (the node's verifier busy with gossip and blocks, or a big batch ahead) has the rest of its txs
 * refused MEMPOOL_BUSY; admitted later, its client would wait longer for them than for a retry.
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
      waitMaxMs: ADMIT_WAIT_MS_MAX,
    },
  ) {}

  private now(): number {
    return this.limits.now ? this.limits.now() : performance.now();
  }

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
      this.jobs.push({ items, at: this.now(), results: new Array<TxBatchItemResult>(items.length), next: 0, resolve });
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
          this.expire();
          if (this.jobs.length === 0) break;
          const step = typeof this.limits.stepTxs === 'function' ? this.limits.stepTxs() : this.limits.stepTxs;
          // A step carries the oldest waiting txs, of as many batches as it takes, in the order
          // they came: a backlog of small batches costs as few verify round trips as one big batch,
          // and a tx is never admitted before an earlier batch's tx that may yet be refused for its
          // wait (a later nonce of an account taken while the lower one is refused would wait for
          // that client's retry). A big batch holds a later one back for at most waitMaxMs.
          const parts: { job: Job; from: number; n: number }[] = [];
          for (let room = step, j = 0; j < this.jobs.length && room > 0; j++) {
            const job = this.jobs[j]!;
            const n = Math.min(room, job.items.length - job.next);
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
            if (job.next === job.items.length) {
              this.jobs.splice(this.jobs.indexOf(job), 1);
              job.resolve(job.results);
            }
          }
        } while (this.jobs.length > 0 && performance.now() < end);
      }
    } finally {
      this.draining = false;
    }
  }

  /** Refuses what is left of every batch that has waited longer than waitMaxMs, while others wait too or the node sheds load. */
  private expire(): void {
    const waitMaxMs = this.limits.waitMaxMs;
    // A batch alone is paced by its own size, which its client chose; it holds back no one. Unless
    // the node sheds load: its late txs would join a full pool (measured with bench:chain at 200%:
    // a lone batch of retries answered after 3.8 s, its txs committed after 4-5 s), and a client
    // whose batch came a moment later would have been refused them.
    if (waitMaxMs === undefined || this.jobs.length === 0) return;
    if (this.jobs.length < 2 && !this.limits.overloaded?.()) return;
    const since = this.now() - waitMaxMs;
    // jobs are in the order they came: the late ones are a prefix
    let count = 0;
    while (count < this.jobs.length && this.jobs[count]!.at < since) count++;
    if (count === 0) return;
    const late = this.jobs.splice(0, count);
    const n = late.reduce((sum, j) => sum + j.items.length - j.next, 0);
    const err =
      this.limits.expired?.(n) ??
      new ConsortiaError(
        NodeApiCodes.MEMPOOL_BUSY,
        `not admitted within ${waitMaxMs} ms: the node is busy; retry shortly`,
      );
    for (const job of late) {
      for (let i = job.next; i < job.items.length; i++) job.results[i] = rejectionOf(err, job.items[i]!);
      this.queued -= job.items.length - job.next;
      job.next = job.items.length;
      job.resolve(job.results);
    }
  }
}
