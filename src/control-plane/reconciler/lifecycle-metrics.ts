/**
 * Ceremony and proposal durations, observed from the change bus: an event is published only after
 * the batch that made the change committed, so nothing is counted for a change that rolled back,
 * and no API route or worker needs to know about metrics.
 */
import type { ChangeBus } from '../domain/events.js';
import type { Ceremony, ChangeEvent, Proposal } from '../domain/types.js';
import type { ControlPlaneMetrics } from '../metrics.js';

type Durations = Pick<ControlPlaneMetrics, 'ceremonyDuration' | 'proposalDuration'>;

const PROPOSAL_OUTCOMES = new Set(['approved', 'rejected', 'expired', 'executed', 'execution_failed']);
const seconds = (from: string | undefined, to: string | undefined): number | undefined => {
  const a = from ? Date.parse(from) : NaN;
  const b = to ? Date.parse(to) : NaN;
  return Number.isFinite(a) && Number.isFinite(b) && b >= a ? (b - a) / 1000 : undefined;
};

/** One change event: a proposal outcome or a sealed ceremony (read with `loadCeremony`) is observed. */
export async function observeLifecycle(
  e: ChangeEvent,
  m: Durations,
  loadCeremony: (cid: string) => Promise<Ceremony | undefined>,
): Promise<void> {
  const proposal = /^proposal\.(.+)$/.exec(e.type);
  if (proposal?.[1] && PROPOSAL_OUTCOMES.has(proposal[1])) {
    const p = e.data as Partial<Proposal> | undefined;
    const s = seconds(p?.createdAt, e.at);
    if (s !== undefined) m.proposalDuration.observe({ outcome: proposal[1] }, s);
    return;
  }
  if (e.type === 'ceremony.sealed') {
    const cid = /^consortia\/([^/]+)\/ceremony$/.exec(e.resource)?.[1];
    const c = cid ? await loadCeremony(cid) : undefined;
    if (!c || c.status !== 'SEALED') return;
    const assembled = c.transcript.find((t) => t.type === 'genesis.assembled')?.at;
    const obs = (phase: string, s: number | undefined): void => {
      if (s !== undefined) m.ceremonyDuration.observe({ phase }, s);
    };
    obs('collecting_keys', seconds(c.startedAt, assembled));
    obs('awaiting_approvals', seconds(assembled, c.sealedAt));
    obs('total', seconds(c.startedAt, c.sealedAt));
  }
}

/** Subscribes to the bus; returns the unsubscribe function. */
export function watchLifecycleDurations(
  bus: ChangeBus,
  m: Durations,
  loadCeremony: (cid: string) => Promise<Ceremony | undefined>,
): () => void {
  return bus.subscribe((e) => {
    void observeLifecycle(e, m, loadCeremony).catch(() => undefined);
  });
}
