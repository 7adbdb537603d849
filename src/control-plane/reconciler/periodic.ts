/** Runs an async task every intervalMs, never overlapping itself; kick() runs it promptly. */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private running = false;
  private kicked = false;

  constructor(
    private readonly task: () => Promise<void>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  kick(): void {
    if (!this.running) return;
    if (this.inFlight) this.kicked = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.inFlight;
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), ms);
  }

  private tick(): void {
    this.timer = undefined;
    if (!this.running || this.inFlight) return;
    this.inFlight = this.task()
      .catch(this.onError)
      .finally(() => {
        this.inFlight = undefined;
        if (this.running) this.schedule(this.kicked ? 0 : this.intervalMs);
        this.kicked = false;
      });
  }
}
