/**
 * Per-key work queue (like client-go's workqueue): enqueuing a key that is already pending is a
 * no-op (events coalesce), a key is never processed by two workers at once (an enqueue while it
 * runs marks it dirty and it runs once more afterwards), and a failed key is retried after an
 * exponential backoff that resets on success.
 */
export interface WorkQueueOptions {
  concurrency: number;
  baseMs: number;
  maxMs: number;
  onError?: (key: string, err: unknown, attempt: number, retryInMs: number) => void;
}

export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly order: string[] = [];
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly idleWaiters: (() => void)[] = [];
  private active = 0;
  private closed = false;

  constructor(
    private readonly handler: (key: string) => Promise<void>,
    private readonly opts: WorkQueueOptions,
  ) {}

  add(key: string): void {
    if (this.closed) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.pending.has(key)) return;
    const t = this.timers.get(key);
    if (t) {
      // An explicit event beats a scheduled retry: run now.
      clearTimeout(t);
      this.timers.delete(key);
    }
    this.pending.add(key);
    this.order.push(key);
    this.pump();
  }

  /** Delay before the next retry of a key that failed `attempt` times (1-based). */
  backoffMs(attempt: number): number {
    return Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** Math.max(0, attempt - 1));
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  get size(): number {
    return this.pending.size + this.running.size;
  }

  /** Resolves when nothing is pending or running (scheduled retries do not count). */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.pending.clear();
    this.order.length = 0;
  }

  private pump(): void {
    while (!this.closed && this.active < this.opts.concurrency && this.order.length > 0) {
      const key = this.order.shift() as string;
      this.pending.delete(key);
      this.running.add(key);
      this.active++;
      void this.run(key);
    }
    if (this.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private async run(key: string): Promise<void> {
    try {
      await this.handler(key);
      this.failures.delete(key);
    } catch (err) {
      const attempt = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, attempt);
      const delay = this.backoffMs(attempt);
      this.opts.onError?.(key, err, attempt, delay);
      if (!this.closed && !this.dirty.has(key)) {
        const t = setTimeout(() => {
          this.timers.delete(key);
          this.add(key);
        }, delay);
        t.unref?.();
        this.timers.set(key, t);
      }
    } finally {
      this.running.delete(key);
      this.active--;
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}
