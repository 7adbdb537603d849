import type { NodeMetrics } from './metrics.js';
import { KIND_RANGES, diskUsage, type ChainStore } from './store/index.js';

/** How often the store's disk usage is measured (a directory walk, so never on a request). */
export const STORAGE_STATS_INTERVAL_MS = 2_000;

/**
 * Disk usage of the chain store (docs/storage-tiers.md): total bytes for GET /v1/status and, with
 * metrics, bytes per kind of key and the lowest retained height.
 */
export class StorageStats {
  private diskBytes = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly dir: string,
    private readonly store: ChainStore,
    private readonly metrics: NodeMetrics | undefined,
  ) {}

  get bytes(): number {
    return this.diskBytes;
  }

  start(): void {
    void this.refresh().catch(() => undefined); // a failed walk keeps the last figure; the next one retries
    this.timer = setInterval(() => {
      void this.refresh().catch(() => undefined);
    }, STORAGE_STATS_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async refresh(): Promise<void> {
    this.diskBytes = diskUsage(this.dir);
    const m = this.metrics;
    if (!m) return;
    m.storageBytes.set({ kind: 'total' }, this.diskBytes);
    for (const [kind, ranges] of Object.entries(KIND_RANGES))
      m.storageBytes.set({ kind }, await this.store.approximateBytes(ranges));
    m.storageRetainedLowestHeight.set(this.store.lowestHeight());
  }
}
