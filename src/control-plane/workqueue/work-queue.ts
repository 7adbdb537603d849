import { Backoff, NO_JITTER } from './backoff.js';

/** What one reconcile asks of the queue: nothing, or another run after a delay (no failure counted). */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

/** Brings the world in line with what request `R` names; throwing retries it with backoff. */
export interface Reconciler<R> {
  reconcile(request: R): Promise<ReconcileResult>;
}

export interface WorkQueueOptions<R> {
  /** Requests with one key are one item: queued once, never run twice at once. */
  keyOf: (request: R) => string;
  /** Items run at once at most (Infinity: no limit). */
  concurrency: number;
  /** Retry delay after the n-th consecutive failure of a key: baseMs * 2^(n-1), at most maxMs. */
  baseMs: number;
  maxMs: number;
  /** Jitter source in [0, 1) for the retry delays (default: none). */
  random?: () => number;
  /** false: a failed key waits for its next add() (its caller retries on its own schedule). Default true. */
  retryFailed?: boolean;
  onError?: (request: R, err: unknown, attempt: number, retryInMs: number) => void;
  now?: () => number;
}

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Per-key work queue (the shape of client-go's workqueue, shared by the Kubernetes runtime and the
 * reconciler): adding a key that is already queued is a no-op (events coalesce); a key never runs
 * on two workers at once (an add while it runs marks it dirty and it runs once more afterwards); a
 * failed key is retried after an exponential backoff that resets on success; a reconcile may ask
 * to run again after a delay. addAndWait() resolves with the outcome of the run that starts after it.
 */
export class WorkQueue<R> {
  private readonly pending = new Map<string, R>();
  private readonly order: string[] = [];
  private readonly running = new Set<string>();
  private readonly dirty = new Map<string, R>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly backoff: Backoff;
  private readonly now: () => number;
  private active = 0;
  private closed = false;
  private closeReason: unknown;

  constructor(
    private readonly reconciler: Reconciler<R>,
    private readonly opts: WorkQueueOptions<R>,
  ) {
    this.backoff = new Backoff(opts.baseMs, opts.maxMs, opts.random ?? NO_JITTER);
    this.now = opts.now ?? Date.now;
  }

  add(request: R): void {
    if (this.closed) return;
    const key = this.opts.keyOf(request);
    if (this.running.has(key)) {
      this.dirty.set(key, request);
      return;
    }
    if (this.pending.has(key)) {
      this.pending.set(key, request); // the latest request of a key is the one that runs
      return;
    }
    const t = this.timers.get(key);
    if (t) {
      // An explicit add beats a scheduled retry: run now.
      clearTimeout(t);
      this.timers.delete(key);
    }
    this.pending.set(key, request);
    this.order.push(key);
    this.pump();
  }

  /** Adds `request`; resolves when a run of its key that starts after this call succeeds, rejects when it fails. */
  addAndWait(request: R): Promise<void> {
    if (this.closed) return Promise.reject(this.closeReason);
    const key = this.opts.keyOf(request);
    return new Promise<void>((resolve, reject) => {
      const list = this.waiters.get(key) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(key, list);
      this.add(request);
    });
  }

  /** Whether `key` is queued or running (a scheduled retry is neither). */
  busy(key: string): boolean {
    return this.pending.has(key) || this.running.has(key);
  }

  /** Delay before the retry that follows failure number `attempt` (1-based). */
  backoffMs(attempt: number): number {
    return this.backoff.delayMs(attempt);
  }

  /** Consecutive failures of `key` (0 after a success). */
  retries(key: string): number {
    return this.backoff.failures(key);
  }

  /** Items queued or running. */
  get size(): number {
    return this.pending.size + this.running.size;
  }

  /** Resolves when nothing is queued or running (scheduled retries and requeues do not count). */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops queued items and scheduled retries; runs in flight finish; waiters not yet served get `reason`. */
  close(reason: unknown = new Error('work queue closed')): void {
    this.closed = true;
    this.closeReason = reason;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.pending.clear();
    this.order.length = 0;
    for (const ws of this.waiters.values()) for (const w of ws) w.reject(reason);
    this.waiters.clear();
    if (this.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private pump(): void {
    while (!this.closed && this.active < this.opts.concurrency && this.order.length > 0) {
      const key = this.order.shift() as string;
      const request = this.pending.get(key) as R;
      this.pending.delete(key);
      this.running.add(key);
      this.active++;
      void this.run(key, request);
    }
    if (this.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private async run(key: string, request: R): Promise<void> {
    // Those who asked before this run started are answered by it.
    const waiters = this.waiters.get(key) ?? [];
    this.waiters.delete(key);
    try {
      const result = await this.reconciler.reconcile(request);
      this.backoff.success(key);
      for (const w of waiters) w.resolve();
      const after = result?.requeueAfterMs;
      if (after !== undefined && !this.dirty.has(key)) this.schedule(key, request, after);
    } catch (err) {
      const delay = this.backoff.failure(key, this.now());
      for (const w of waiters) w.reject(err);
      this.opts.onError?.(request, err, this.backoff.failures(key), delay);
      if (!this.dirty.has(key) && this.opts.retryFailed !== false) this.schedule(key, request, delay);
    } finally {
      this.running.delete(key);
      this.active--;
      const again = this.dirty.get(key);
      if (again !== undefined || this.dirty.has(key)) {
        this.dirty.delete(key);
        this.add(again as R);
      }
      this.pump();
    }
  }

  private schedule(key: string, request: R, delayMs: number): void {
    if (this.closed) return;
    const t = setTimeout(
      () => {
        this.timers.delete(key);
        this.add(request);
      },
      Math.max(0, delayMs),
    );
    t.unref?.();
    this.timers.set(key, t);
  }
}
