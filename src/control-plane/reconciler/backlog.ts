import type { NodeRecord } from '../domain/types.js';

/**
 * The reconciler's backlog: nodes whose desired state the runtime does not yet run. Each pass
 * over the store updates it; how long the oldest item has waited is read at scrape time, so it
 * keeps growing while a pass is stuck (a hung runtime call) instead of freezing at its last value.
 */
export class ReconcileBacklog {
  private readonly since = new Map<string, number>();

  /** Replaces the pending set; an item keeps the time it first became pending. */
  update(pending: Iterable<string>, now: number): void {
    const keep = new Set(pending);
    for (const id of this.since.keys()) if (!keep.has(id)) this.since.delete(id);
    for (const id of keep) if (!this.since.has(id)) this.since.set(id, now);
  }

  depth(): number {
    return this.since.size;
  }

  /** Seconds the oldest pending item has waited (0 when none). */
  oldestAgeSeconds(now: number): number {
    let oldest = Infinity;
    for (const t of this.since.values()) oldest = Math.min(oldest, t);
    return oldest === Infinity ? 0 : Math.max(0, now - oldest) / 1000;
  }
}

/**
 * Whether a node still needs work: deletion not finished; never applied, or its spec generation
 * not yet observed running; failed or retrying after a failure; or an update held back (a validator
 * restart that would break quorum). A running node that is not ready (syncing, awaiting genesis)
 * is not backlog: the runtime runs what was asked.
 */
export function isPending(n: NodeRecord, retrying: boolean, held: boolean): boolean {
  if (n.desired === 'deleted') return n.status.phase !== 'Deleted';
  return (
    retrying ||
    held ||
    n.specHash === undefined ||
    n.status.phase !== 'Running' ||
    n.status.observedGeneration !== n.generation
  );
}
