/** Per-node exponential backoff with jitter (in memory: a restart retries at once, which is fine). */
export class Backoff {
  private readonly state = new Map<string, { failures: number; nextAt: number }>();

  constructor(private readonly baseMs = 500, private readonly maxMs = 30_000, private readonly random: () => number = Math.random) {}

  ready(key: string, now: number): boolean {
    const s = this.state.get(key);
    return !s || now >= s.nextAt;
  }

  failure(key: string, now: number): number {
    const failures = (this.state.get(key)?.failures ?? 0) + 1;
    const delay = Math.min(this.maxMs, this.baseMs * 2 ** (failures - 1)) * (0.75 + this.random() * 0.5);
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
