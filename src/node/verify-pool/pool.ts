import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../lib/logging.js';
import { packItems, type VerifyItem } from './pack.js';
import type { VerifyJobMsg, VerifyReadyMsg, VerifyResultMsg } from './worker.js';

/**
 * A pool of worker threads that verify Ed25519 signatures in batches, so that a validator's
 * consensus (which runs on the main thread) is not held up behind signature checks and the
 * node uses the cores it has. verify() splits its items into jobs of at most batchMax, each
 * packed into one transferred ArrayBuffer; every worker runs one job at a time.
 *
 * Failure modes, none of which hangs a caller: a worker that exits or throws is replaced and its
 * job retried on another worker (at most VERIFY_JOB_ATTEMPTS_MAX attempts in all, then the job
 * fails); a job not answered within jobTimeoutMs counts as a crash of its worker; close() fails
 * every queued and running job and terminates the workers; a full queue fails new normal-priority
 * work at once with VerifyPoolError BUSY (the caller refuses or falls back).
 */

/** Items (signatures) per job: large enough to amortize a message round trip (~0.1 ms, ~2 verifies), small enough to spread a block over the workers. */
export const VERIFY_BATCH_TXS_MAX = 256;
/**
 * Jobs waiting for a worker, normal priority (each up to VERIFY_BATCH_TXS_MAX signatures: ~32k
 * signatures, seconds of one core); beyond, verify() fails BUSY at once rather than queue longer.
 */
export const VERIFY_QUEUE_JOBS_MAX = 128;
/** Attempts of one job (a worker crash retries it once on a fresh worker). */
export const VERIFY_JOB_ATTEMPTS_MAX = 2;
/** Milliseconds a worker may take for one job before it is treated as crashed (a job is ~20 ms of CPU). */
export const VERIFY_JOB_TIMEOUT_MS = 30_000;
/** Workers in a row that die before they are ready: then queued jobs fail instead of waiting for one that never starts. */
export const VERIFY_START_FAILURES_MAX = 3;
/** Milliseconds before a worker that died at start-up is started again (no busy respawn loop). */
export const VERIFY_RESPAWN_DELAY_MS = 1_000;
/**
 * Milliseconds a low-priority job (an API submission) may wait behind normal ones (gossip) before
 * it goes first. Without it, a node whose gossip ingest lags keeps the normal queue full (ingest
 * refills it as each job ends), and its own clients' txs could wait for as long as that lasts.
 */
export const VERIFY_LOW_WAIT_MAX_MS = 250;
/**
 * Milliseconds a low-priority job may wait for a worker at all; then it fails LATE. It waits that
 * long only behind proposal validation ('high'), i.e. when the node lags behind the chain: its
 * client then does better to retry than to wait (measured: API jobs waited 11 s behind a backlog
 * of proposals on a CPU-starved node, BENCH_SLOW=1 npm run bench:chain at 200% of the ceiling).
 */
export const VERIFY_LOW_START_MAX_MS = 500;
/** Upper bound of the verifyWorkers setting (threads). */
export const VERIFY_WORKERS_MAX = 256;

/** Default size of the pool: every core but the one the main thread (consensus, API) runs on, at least 1. */
export function defaultVerifyWorkers(): number {
  return Math.max(1, availableParallelism() - 1);
}

export const VerifyPoolCodes = {
  /** The queue is full (VERIFY_QUEUE_JOBS_MAX): retry later. */
  BUSY: 'BUSY',
  /** The pool was closed (node stopping). */
  CLOSED: 'VERIFY_POOL_CLOSED',
  /** The job's workers crashed VERIFY_JOB_ATTEMPTS_MAX times. */
  FAILED: 'VERIFY_FAILED',
  /** A low-priority job found no worker within VERIFY_LOW_START_MAX_MS: retry later. */
  LATE: 'VERIFY_LATE',
} as const;

export class VerifyPoolError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * 'high': ahead of every other job and never refused for a full queue (proposal validation);
 * 'low': after every normal job (API submissions: under overload, gossip of txs other nodes
 * already admitted goes first, so this node's pool, and the blocks it proposes, keep up), unless
 * it has waited VERIFY_LOW_WAIT_MAX_MS: then before them; it fails LATE if it has not started
 * within VERIFY_LOW_START_MAX_MS.
 */
export type VerifyPriority = 'low' | 'normal' | 'high';

export interface VerifyPoolOptions {
  workers: number;
  logger?: Logger;
  batchMax?: number;
  queueMaxJobs?: number;
  jobTimeoutMs?: number;
  /** Starts one worker thread (tests substitute failing ones); default: worker.ts/js of this folder. */
  spawn?: () => Worker;
  /** A worker was lost (crash, exit or timeout) and replaced. */
  onWorkerLost?: (reason: string) => void;
  /** Default VERIFY_LOW_WAIT_MAX_MS. */
  lowWaitMaxMs?: number;
  /** Default VERIFY_LOW_START_MAX_MS. */
  lowStartMaxMs?: number;
  /** Clock in milliseconds (tests substitute one); default performance.now. */
  now?: () => number;
}

interface Job {
  items: readonly VerifyItem[];
  attempts: number;
  /** now() when it was queued. */
  queuedAt: number;
  /** Asked when a worker could take it: false, and it is answered "not verified" without running. */
  wanted?: () => boolean;
  resolve: (r: Uint8Array) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
  jobId: number;
  timer: NodeJS.Timeout | null;
  gone: boolean;
  /** Its module is loaded (it said so): jobs go to ready workers only, so start-up is not counted against a job's time. */
  ready: boolean;
}

export class VerifyPool {
  private readonly slots: Slot[] = [];
  private readonly high: Job[] = [];
  private readonly normal: Job[] = [];
  private readonly low: Job[] = [];
  private nextId = 1;
  private closed = false;
  private readonly batchMax: number;
  private readonly queueMax: number;
  private readonly timeoutMs: number;
  private readonly spawn: () => Worker;
  private readonly lowWaitMaxMs: number;
  private readonly lowStartMaxMs: number;
  private readonly now: () => number;
  private live = 0;
  private startFailures = 0;
  private readonly exited = new Set<() => void>();
  /** Signatures verified by the workers, workers lost, jobs skipped as no longer wanted (for tests and metrics). */
  readonly stats = { items: 0, jobs: 0, workersLost: 0, skipped: 0 };

  constructor(private readonly o: VerifyPoolOptions) {
    if (!Number.isInteger(o.workers) || o.workers < 1 || o.workers > VERIFY_WORKERS_MAX)
      throw new RangeError(`verify pool needs 1..${VERIFY_WORKERS_MAX} workers, got ${o.workers}`);
    this.batchMax = o.batchMax ?? VERIFY_BATCH_TXS_MAX;
    this.queueMax = o.queueMaxJobs ?? VERIFY_QUEUE_JOBS_MAX;
    this.timeoutMs = o.jobTimeoutMs ?? VERIFY_JOB_TIMEOUT_MS;
    this.spawn = o.spawn ?? spawnVerifyWorker;
    this.lowWaitMaxMs = o.lowWaitMaxMs ?? VERIFY_LOW_WAIT_MAX_MS;
    this.lowStartMaxMs = o.lowStartMaxMs ?? VERIFY_LOW_START_MAX_MS;
    this.now = o.now ?? (() => performance.now());
    for (let i = 0; i < o.workers; i++) this.slots.push(this.startSlot());
  }

  get size(): number {
    return this.slots.length;
  }
  /** Worker threads started and not yet exited. */
  get liveWorkers(): number {
    return this.live;
  }
  /** Jobs waiting for a worker. */
  get queued(): number {
    return this.high.length + this.normal.length + this.low.length;
  }

  /**
   * One result per item, in order: true iff verifyDomain(tag, publicKey, payload, signature).
   * `wanted`, asked as each job could start: when false, that job's items come back false
   * unverified (a proposal whose height the chain has passed while it waited: its verify would be
   * wasted work in front of everything else).
   */
  verify(
    items: readonly VerifyItem[],
    priority: VerifyPriority = 'normal',
    wanted?: () => boolean,
  ): Promise<boolean[]> {
    if (items.length === 0) return Promise.resolve([]);
    if (this.closed) return Promise.reject(new VerifyPoolError(VerifyPoolCodes.CLOSED, 'verify pool closed'));
    const chunks = Math.ceil(items.length / this.batchMax);
    if (priority !== 'high' && this.normal.length + this.low.length + chunks > this.queueMax)
      return Promise.reject(
        new VerifyPoolError(VerifyPoolCodes.BUSY, `signature verification queue full (${this.queueMax} jobs)`),
      );
    const parts: Promise<Uint8Array>[] = [];
    const queuedAt = this.now();
    for (let i = 0; i < items.length; i += this.batchMax) {
      const chunk = items.slice(i, i + this.batchMax);
      parts.push(
        new Promise<Uint8Array>((resolve, reject) => {
          (priority === 'high' ? this.high : priority === 'low' ? this.low : this.normal).push({
            items: chunk,
            attempts: 0,
            queuedAt,
            ...(wanted ? { wanted } : {}),
            resolve,
            reject,
          });
        }),
      );
    }
    this.pump();
    return Promise.all(parts).then((rs) => {
      const out: boolean[] = new Array(items.length);
      let k = 0;
      for (const r of rs) for (let i = 0; i < r.length; i++) out[k++] = r[i] === 1;
      return out;
    });
  }

  /** Fails every queued and running job, terminates the workers and waits until they exited. */
  async close(): Promise<void> {
    if (this.closed) return this.waitExited();
    this.closed = true;
    const err = new VerifyPoolError(VerifyPoolCodes.CLOSED, 'verify pool closed');
    for (const j of this.high.splice(0)) j.reject(err);
    for (const j of this.normal.splice(0)) j.reject(err);
    for (const j of this.low.splice(0)) j.reject(err);
    for (const s of this.slots) {
      if (s.timer) clearTimeout(s.timer);
      s.job?.reject(err);
      s.job = null;
      void s.worker.terminate();
    }
    return this.waitExited();
  }

  private waitExited(): Promise<void> {
    if (this.live === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.live === 0) {
          this.exited.delete(check);
          resolve();
        }
      };
      this.exited.add(check);
    });
  }

  private startSlot(): Slot {
    const worker = this.spawn();
    this.live++;
    const slot: Slot = { worker, job: null, jobId: 0, timer: null, gone: false, ready: false };
    worker.on('message', (m: VerifyResultMsg | VerifyReadyMsg) => {
      if ('ready' in m) {
        slot.ready = true;
        this.startFailures = 0;
        this.pump();
      } else this.onResult(slot, m);
    });
    worker.on('error', (err) => this.lose(slot, `worker error: ${err.message}`));
    worker.on('exit', (code) => {
      this.live--;
      for (const f of [...this.exited]) f();
      this.lose(slot, `worker exited with code ${code}`);
    });
    return slot;
  }

  private onResult(slot: Slot, m: VerifyResultMsg): void {
    const job = slot.job;
    if (!job || m.id !== slot.jobId) return;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.job = null;
    const r = new Uint8Array(m.results);
    this.stats.items += r.length;
    this.stats.jobs++;
    job.resolve(r);
    this.pump();
  }

  /** A worker is gone (crash, exit, timeout): its job is retried or failed, and it is replaced. */
  private lose(slot: Slot, reason: string): void {
    if (slot.gone) return;
    slot.gone = true;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    if (this.closed) return;
    this.stats.workersLost++;
    this.o.logger?.warn('signature verify worker lost; replacing it', { reason });
    this.o.onWorkerLost?.(reason);
    const job = slot.job;
    slot.job = null;
    void slot.worker.terminate(); // after an 'error' or a timeout it may still be running
    if (job) {
      if (job.attempts >= VERIFY_JOB_ATTEMPTS_MAX)
        job.reject(new VerifyPoolError(VerifyPoolCodes.FAILED, `signature verify job failed: ${reason}`));
      else this.high.unshift(job); // first in line: its caller has waited longest
    }
    if (!slot.ready && ++this.startFailures >= VERIFY_START_FAILURES_MAX) {
      // Workers do not start at all: fail what waits rather than let callers hang, and retry later.
      const err = new VerifyPoolError(VerifyPoolCodes.FAILED, `signature verify workers do not start: ${reason}`);
      for (const j of this.high.splice(0)) j.reject(err);
      for (const j of this.normal.splice(0)) j.reject(err);
      for (const j of this.low.splice(0)) j.reject(err);
      const t = setTimeout(() => this.replace(slot), VERIFY_RESPAWN_DELAY_MS);
      t.unref();
      return;
    }
    this.replace(slot);
  }

  private replace(slot: Slot): void {
    if (this.closed) return;
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots[i] = this.startSlot();
    this.pump();
  }

  /** Normal jobs before low ones, except a low job that has waited VERIFY_LOW_WAIT_MAX_MS. */
  private nextNormalOrLow(): Job | undefined {
    const low = this.low[0];
    if (low && this.now() - low.queuedAt >= this.lowWaitMaxMs) return this.low.shift();
    return this.normal.shift() ?? this.low.shift();
  }

  /** Fails the low jobs that waited longer than lowStartMaxMs (the oldest are first). */
  private failLateLow(): void {
    const since = this.now() - this.lowStartMaxMs;
    while (this.low.length > 0 && this.low[0]!.queuedAt < since) {
      this.low
        .shift()!
        .reject(
          new VerifyPoolError(
            VerifyPoolCodes.LATE,
            `signature verification did not start within ${this.lowStartMaxMs} ms (the node is busy)`,
          ),
        );
    }
  }

  private pump(): void {
    if (this.closed) return;
    this.failLateLow();
    for (const slot of this.slots) {
      if (slot.job !== null || slot.gone || !slot.ready) continue;
      let job = this.high.shift() ?? this.nextNormalOrLow();
      while (job?.wanted && !job.wanted()) {
        this.stats.skipped++;
        job.resolve(new Uint8Array(job.items.length)); // not verified
        job = this.high.shift() ?? this.nextNormalOrLow();
      }
      if (!job) return;
      job.attempts++;
      let buf: ArrayBuffer;
      try {
        buf = packItems(job.items); // packed when sent: a retry packs again (the first buffer went to the lost worker)
      } catch (err) {
        job.reject(err as Error);
        continue;
      }
      slot.job = job;
      slot.jobId = this.nextId++;
      slot.timer = setTimeout(() => this.lose(slot, `no answer within ${this.timeoutMs} ms`), this.timeoutMs);
      slot.timer.unref();
      const msg: VerifyJobMsg = { id: slot.jobId, buf };
      slot.worker.postMessage(msg, [buf]);
    }
  }
}

/**
 * Starts the worker of this folder. From a build it is worker.js next to this file; from the
 * TypeScript sources (vitest, tsx) it is worker.ts, loaded through tsx's loader (a dev
 * dependency, present wherever the sources run).
 */
export function spawnVerifyWorker(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./worker.js', here));
  const tsxApi = pathToFileURL(
    join(dirname(createRequire(here).resolve('tsx/package.json')), 'dist/esm/api/index.mjs'),
  ).href;
  const entry = new URL('./worker.ts', here).href;
  return new Worker(
    `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`,
    { eval: true },
  );
}
