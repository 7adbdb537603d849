/** Jitter source that always picks the middle of the band: delays exactly base * 2^(n-1). */
export const NO_JITTER = (): number => 0.5;

/**
 * Per-key exponential backoff with a maximum and +-25% jitter (in memory: a restart retries at
 * once, which is fine). A success forgets the key.
 */
export class Backoff {
  private readonly state = new Map<string, { failures: number; nextAt: number }>();

  constructor(
    private readonly baseMs = 500,
    private readonly maxMs = 30_000,
    private readonly random: () => number = Math.random,
  ) {}

  /** Delay after the `failures`-th consecutive failure (1-based), jitter included. */
  delayMs(failures: number): number {
    return Math.min(this.maxMs, this.baseMs * 2 ** Math.max(0, failures - 1)) * (0.75 + this.random() * 0.5);
  }

  ready(key: string, now: number): boolean {
    const s = this.state.get(key);
    return !s || now >= s.nextAt;
  }

  /** Records a failure of `key` at `now`; returns how long to wait before the next attempt. */
  failure(key: string, now: number): number {
    const failures = (this.state.get(key)?.failures ?? 0) + 1;
    const delay = this.delayMs(failures);
    this.state.set(key, { failures, nextAt: now + delay });
    return delay;
  }

  failures(key: string): number {
    return this.state.get(key)?.failures ?? 0;
  }

  success(key: string): void {
    this.state.delete(key);
  }
}
