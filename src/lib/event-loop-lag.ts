import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/**
 * Event-loop lag of this process, for the chain node and the control plane: how long callbacks
 * waited behind whatever held the loop (on a node: votes and proposals behind a request or a
 * block). Read from one process-wide perf_hooks.monitorEventLoopDelay histogram (sampled every
 * EVENT_LOOP_RESOLUTION_MS), summarized and reset at each scrape, so `stat="max"` is the longest
 * stall since the previous scrape.
 */
export const EVENT_LOOP_LAG_METRIC = 'consortia_process_event_loop_lag_seconds';
export const EVENT_LOOP_RESOLUTION_MS = 10;
export type EventLoopLagStat = 'max' | 'p99' | 'p50' | 'mean';

let monitor: IntervalHistogram | null = null;

function processMonitor(): IntervalHistogram {
  if (!monitor) {
    monitor = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
    monitor.enable(); // its timer does not keep the process alive
  }
  return monitor;
}

/** Registers the lag gauge on `registry` once (a second call returns the registered one). */
export function registerEventLoopLag(registry: Registry): Gauge<'stat'> {
  const existing = registry.getSingleMetric(EVENT_LOOP_LAG_METRIC);
  if (existing) return existing as Gauge<'stat'>;
  const h = processMonitor();
  return new Gauge({
    name: EVENT_LOOP_LAG_METRIC,
    help: `Event-loop delay since the previous scrape (monitorEventLoopDelay, ${EVENT_LOOP_RESOLUTION_MS} ms resolution), by stat: max, p99, p50, mean`,
    labelNames: ['stat'] as const,
    registers: [registry],
    collect() {
      const seconds = (ns: number): number => (Number.isFinite(ns) ? ns / 1e9 : 0);
      const any = h.count > 0;
      this.set({ stat: 'max' }, any ? seconds(h.max) : 0);
      this.set({ stat: 'p99' }, any ? seconds(h.percentile(99)) : 0);
      this.set({ stat: 'p50' }, any ? seconds(h.percentile(50)) : 0);
      this.set({ stat: 'mean' }, any ? seconds(h.mean) : 0);
      h.reset();
    },
  });
}
