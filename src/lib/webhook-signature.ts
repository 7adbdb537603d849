/**
 * Webhook signatures: HMAC-SHA256 with the subscription's secret over `${t}.${body}` (t = unix
 * milliseconds), sent as `Consortia-Signature: t=<t>,v1=<hex>`. The timestamp inside the MAC lets a
 * receiver refuse replays older than its tolerance.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'consortia-signature';
export const EVENT_ID_HEADER = 'consortia-event-id';
export const SUBSCRIPTION_ID_HEADER = 'consortia-subscription-id';
/** Bytes of a generated secret (hex-encoded, prefixed whsec_). */
export const SUBSCRIPTION_SECRET_BYTES = 32;

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
