/**
 * Cutting a subscription's next events into one POST (pure, no I/O): a prefix of them, in order,
 * within the subscription's event count and WEBHOOK_BATCH_BYTES_MAX of body (config.ts).
 */
import type { PendingEvent } from './types.js';

/** A cursor position (types.ts SubscriptionCursor: height/index for chain kinds, seq for control_plane). */
export type Pos = { height: number; index: number; seq: number };

/** Bytes of `{"events":[]}` around the events (webhook-client.ts deliveryBody). */
export const BATCH_BODY_OVERHEAD_BYTES = Buffer.byteLength('{"events":[]}');

export interface Batch {
  events: PendingEvent[];
  /** Each event serialized, in order (deliveryBody joins them). */
  json: string[];
  /** Bytes of the body these events make. */
  bytes: number;
}

/**
 * The longest prefix of `pending` with at most maxEvents events and a body of at most maxBytes; the
 * first event always goes, even alone over maxBytes, so one large event cannot stall a subscription.
 */
export function takeBatch(pending: readonly PendingEvent[], maxEvents: number, maxBytes: number): Batch {
  const out: Batch = { events: [], json: [], bytes: BATCH_BODY_OVERHEAD_BYTES };
  for (const p of pending) {
    if (out.events.length >= maxEvents) break;
    const json = JSON.stringify(p.event);
    const add = Buffer.byteLength(json) + (out.events.length > 0 ? 1 : 0);
    if (out.events.length > 0 && out.bytes + add > maxBytes) break;
    out.events.push(p);
    out.json.push(json);
    out.bytes += add;
  }
  return out;
}

/** The cursor position of an event itself: where delivery resumes if it is not done yet. */
export function positionOf(p: PendingEvent): Pos {
  return p.event.kind === 'control_plane'
    ? { height: 0, index: 0, seq: p.next.seq - 1 }
    : { height: p.event.height!, index: p.event.index!, seq: 0 };
}

export const samePos = (a: Pos, b: Pos): boolean => a.height === b.height && a.index === b.index && a.seq === b.seq;
