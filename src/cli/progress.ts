import type { CliIo } from './io.js';

/**
 * Progress while waiting (provisioning, ceremonies): a redrawn bar on a terminal, and on
 * anything else one plain line per change, so logs stay readable.
 */
export class Progress {
  private last = '';
  private drawn = false;

  constructor(
    private readonly io: CliIo,
    private readonly label: string,
    private readonly enabled = true,
  ) {}

  update(done: number, total: number, detail: string): void {
    if (!this.enabled) return;
    const text = `${this.label}: ${done}/${total} ${detail}`;
    if (this.io.isTTY) {
      const width = 24;
      const filled = total > 0 ? Math.round((width * Math.min(done, total)) / total) : 0;
      this.io.errRaw(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}\x1b[K`);
      this.drawn = true;
    } else if (text !== this.last) {
      this.io.err(text);
    }
    this.last = text;
  }

  done(message: string): void {
    if (!this.enabled) return;
    if (this.io.isTTY && this.drawn) this.io.errRaw(`\r${message}\x1b[K\n`);
    else this.io.err(message);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
