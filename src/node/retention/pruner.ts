import { blockHash, decodeBlock, toHex, txHash } from '../../chain/index.js';
import type { Logger } from '../../lib/logging.js';
import type { NodeMetrics } from '../metrics.js';
import { StoreKeys, hkey, type ChainStore } from '../store/index.js';
import { accountsOfTx } from '../engine/tx-accounts.js';

/**
 * Background pruning of an ordinary node: drops blocks, commit certificates, the hash and tx
 * indexes and the account index below the retention window, in bounded batches on a timer so
 * consensus and the API never wait for it. A block is kept while ANY configured window
 * (retentionBlocks, retentionSeconds) still covers it; the head block is always kept. State is
 * never pruned (it is current state only); epoch records are kept forever.
 */
export interface RetentionPolicy {
  blocks?: number;
  seconds?: number;
}

export interface PrunerOptions {
  store: ChainStore;
  policy: RetentionPolicy;
  logger: Logger;
  metrics?: NodeMetrics;
  batchBlocks?: number;
  intervalMs?: number;
  /** Blocks pruned between forced compactions of the pruned ranges. */
  compactEvery?: number;
  now?: () => number;
}

export class Pruner {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private sinceCompaction = 0;
  private stopped = false;
  pruned = 0;

  constructor(private readonly o: PrunerOptions) {}

  start(): void {
    this.o.metrics?.storageRetainedLowestHeight.set(this.o.store.lowestHeight());
    const loop = (): void => {
      this.timer = setTimeout(() => {
        void this.tick().finally(() => {
          if (!this.stopped) loop();
        });
      }, this.o.intervalMs ?? 250);
      this.timer.unref();
    };
    loop();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** One bounded pass; returns the number of blocks pruned. Never throws (logged). */
  async tick(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    try {
      return await this.pass();
    } catch (err) {
      this.o.logger.warn('pruning pass failed', { err: (err as Error).message });
      return 0;
    } finally {
      this.running = false;
    }
  }

  private prunable(h: number, head: number, time: number | null): boolean {
    const { blocks, seconds } = this.o.policy;
    if (blocks === undefined && seconds === undefined) return false;
    const byCount = blocks === undefined || h <= head - blocks;
    const byAge = seconds === undefined || (time !== null && time < (this.o.now ?? Date.now)() - seconds * 1000);
    return byCount && byAge;
  }

  private async pass(): Promise<number> {
    const { store } = this.o;
    const head = store.head()?.height ?? 0;
    let h = store.lowestHeight();
    const keys: string[] = [];
    const max = this.o.batchBlocks ?? 128;
    let n = 0;
    while (h < head && n < max) {
      if (this.o.policy.seconds === undefined && !this.prunable(h, head, null)) break; // count-only: no need to read
      const bytes = await store.getBlockBytes(h);
      if (bytes) {
        const block = decodeBlock(bytes);
        if (!this.prunable(h, head, block.header.time)) break;
        keys.push(StoreKeys.block(h), StoreKeys.commit(h), StoreKeys.hashIndex(toHex(blockHash(block.header))));
        block.txs.forEach((t, i) => {
          keys.push(StoreKeys.tx(toHex(txHash(t))));
          for (const a of accountsOfTx(t)) keys.push(StoreKeys.accountTx(a, h, i));
        });
      }
      h++;
      n++;
    }
    if (n === 0) return 0;
    await store.prune(keys, h);
    this.pruned += n;
    this.o.metrics?.storagePrunedBlocks.inc(n);
    this.o.metrics?.storageRetainedLowestHeight.set(h);
    this.sinceCompaction += n;
    if (this.sinceCompaction >= (this.o.compactEvery ?? 256)) {
      this.sinceCompaction = 0;
      // tombstones only free disk once compacted; the ranges below `h` are dead for good
      await store.compact('b/', 'b/' + hkey(h));
      await store.compact('c/', 'c/' + hkey(h));
      await store.compact('t/', 't0');
      await store.compact('a/', 'a0');
      await store.compact('H/', 'H0');
    }
    return n;
  }
}
