/**
 * Webhook signatures: HMAC-SHA256 with the subscription's secret over `${t}.${body}` (t = unix
 * milliseconds), sent as `Consortia-Signature: t=<t>,v1=<hex>`. The timestamp inside the MAC lets a
 * receiver refuse replays older than its tolerance. A body is `{"events":[...]}`: one or more events
 * of one subscription in order, all covered by the one signature (docs/control-plane.md#event-delivery).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConsortiaError } from './errors.js';

export const SIGNATURE_HEADER = 'consortia-signature';
/** How many events the body carries (the same as `events.length`). */
export const EVENT_COUNT_HEADER = 'consortia-event-count';
export const SUBSCRIPTION_ID_HEADER = 'consortia-subscription-id';
/** Bytes of a generated secret (hex-encoded, prefixed whsec_). */
export const SUBSCRIPTION_SECRET_BYTES = 32;

/** Codes openWebhookDelivery throws (ConsortiaError). */
export const WebhookCodes = {
  /** Missing, malformed, stale or wrong Consortia-Signature: answer 401 and drop the body. */
  SIGNATURE_INVALID: 'WEBHOOK_SIGNATURE_INVALID',
  /** Signed, but not `{"events":[...]}` with an `id` on every event. */
  BODY_INVALID: 'WEBHOOK_BODY_INVALID',
} as const;

export function generateSubscriptionSecret(): string {
  return `whsec_${randomBytes(SUBSCRIPTION_SECRET_BYTES).toString('hex')}`;
}

export function signPayload(secret: string, timestampMs: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestampMs}.${body}`).digest('hex');
  return `t=${timestampMs},v1=${mac}`;
}

/** Receiver side (tests, SDK users): true when `header` is a valid signature of body within toleranceMs of nowMs. */
export function verifySignature(
  secret: string,
  header: string,
  body: string,
  nowMs: number,
  toleranceMs: number,
): boolean {
  const parts = new Map(header.split(',').map((kv) => kv.split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1');
  if (!Number.isSafeInteger(t) || !v1 || !/^[0-9a-f]{64}$/.test(v1)) return false;
  if (Math.abs(nowMs - t) > toleranceMs) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(v1, 'hex'));
}

/**
 * Receiver side: checks the signature over the raw body, then returns its events in delivery order.
 * Throws ConsortiaError WEBHOOK_SIGNATURE_INVALID or WEBHOOK_BODY_INVALID. Events may repeat across
 * deliveries (at least once): dedupe by `id`.
 */
export function openWebhookDelivery<E extends { id: string } = { id: string } & Record<string, unknown>>(
  secret: string,
  signatureHeader: string | undefined,
  body: string,
  nowMs: number,
  toleranceMs: number,
): E[] {
  if (!signatureHeader || !verifySignature(secret, signatureHeader, body, nowMs, toleranceMs))
    throw new ConsortiaError(WebhookCodes.SIGNATURE_INVALID, 'webhook signature missing, stale or not valid');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new ConsortiaError(WebhookCodes.BODY_INVALID, 'webhook body is not JSON');
  }
  const events = (parsed as { events?: unknown } | null)?.events;
  if (!Array.isArray(events) || !events.every((e) => typeof (e as { id?: unknown } | null)?.id === 'string'))
    throw new ConsortiaError(WebhookCodes.BODY_INVALID, 'webhook body is not {"events":[...]} with an id per event');
  return events as E[];
}
