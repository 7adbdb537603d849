/** Webhook delivery settings (control-plane config `webhooks`), validated at start. */
import { Type, type Static } from 'typebox';

/** Attempts at one event before it goes to the dead-letter list. */
export const DELIVERY_ATTEMPTS_DEFAULT = 8;
/** First retry delay; doubles per attempt up to DELIVERY_BACKOFF_MAX_MS, with jitter (backoff.ts). */
export const DELIVERY_BACKOFF_BASE_MS_DEFAULT = 1_000;
export const DELIVERY_BACKOFF_MAX_MS_DEFAULT = 5 * 60_000;
/** How often the worker looks for new blocks and changes (it is also woken by every change). */
export const DELIVERY_POLL_INTERVAL_MS_DEFAULT = 250;
/**
 * Events one POST carries at most (a subscription's `maxBatchEvents`, 1..this). One POST and one
 * cursor write per batch instead of per event is what lets a subscription keep up with a busy chain.
 */
export const WEBHOOK_BATCH_EVENTS_MAX = 1_000;
/** A subscription's `maxBatchEvents` when it sets none. */
export const WEBHOOK_BATCH_EVENTS_DEFAULT = 100;
/**
 * Bytes of one POST body at most: a batch ends before the event that would pass it (a single
 * larger event still goes, alone). Keeps a receiver's body limit predictable whatever the events.
 */
export const WEBHOOK_BATCH_BYTES_MAX = 1024 * 1024;
/** Subscriptions served at the same time. */
export const DELIVERY_CONCURRENCY_DEFAULT = 8;

export const WebhookConfigSchema = Type.Object(
  {
    /** PEM CA bundle trusted for webhook receivers, in addition to the system roots. */
    caFile: Type.Optional(Type.String({ minLength: 1 })),
    /** Dev/test only: accept http:// URLs on a loopback host (https is required otherwise). */
    allowHttpLoopback: Type.Boolean({ default: false }),
    maxAttempts: Type.Integer({ default: DELIVERY_ATTEMPTS_DEFAULT, minimum: 1, maximum: 100 }),
    backoffBaseMs: Type.Integer({ default: DELIVERY_BACKOFF_BASE_MS_DEFAULT, minimum: 10 }),
    backoffMaxMs: Type.Integer({ default: DELIVERY_BACKOFF_MAX_MS_DEFAULT, minimum: 10 }),
    pollIntervalMs: Type.Integer({ default: DELIVERY_POLL_INTERVAL_MS_DEFAULT, minimum: 20 }),
    concurrency: Type.Integer({ default: DELIVERY_CONCURRENCY_DEFAULT, minimum: 1, maximum: 64 }),
  },
  { additionalProperties: false, default: {} },
);
export type WebhookConfig = Static<typeof WebhookConfigSchema>;
