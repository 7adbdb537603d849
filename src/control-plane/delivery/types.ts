/** Webhook subscriptions and the events delivered to them (docs/control-plane.md#event-delivery). */

export const SUBSCRIPTION_KINDS = ['account_txs', 'asset_movements', 'anchors', 'blocks', 'control_plane'] as const;
export type SubscriptionKind = (typeof SUBSCRIPTION_KINDS)[number];

export interface SubscriptionFilter {
  kind: SubscriptionKind;
  /** account_txs (required), anchors (optional: only anchors signed by it): 32-byte public key, hex. */
  account?: string;
  /** asset_movements (required): asset id. */
  asset?: string;
}

export interface Subscription {
  version: number;
  id: string;
  consortiumId: string;
  orgId: string;
  url: string;
  filter: SubscriptionFilter;
  status: 'ACTIVE';
  /** Chain kinds: first block height delivered; absent -> the first block after the worker first saw it. */
  fromHeight?: number;
  /** control_plane: events after this change-log sequence (the newest one when it was created). */
  fromSeq?: number;
  /** Events per POST at most (1..WEBHOOK_BATCH_EVENTS_MAX); absent -> WEBHOOK_BATCH_EVENTS_DEFAULT (config.ts). */
  maxBatchEvents?: number;
  createdAt: string;
}

/** Signing secret, stored apart from the record so no listing or response ever carries it. */
export interface SubscriptionSecret {
  version: number;
  secret: string;
}

/**
 * Durable position of a subscription: every event before it was answered 2xx or dead-lettered.
 * Chain kinds: (height, index) -- index is the tx index within the block (blocks: 0 = the block's
 * own event, 1 = done). control_plane: seq of the change log.
 */
export interface SubscriptionCursor {
  version: number;
  height: number;
  index: number;
  seq: number;
  /** Failed attempts at the batch starting at the cursor (reset on success or dead-letter). */
  attempts: number;
  /**
   * While attempts > 0: where the failed batch ended (exclusive), so its retry carries exactly the
   * same events and each event gets maxAttempts attempts before it is dead-lettered.
   */
  retryTo?: { height: number; index: number; seq: number };
  nextAttemptAtMs: number;
  lastError?: string;
  delivered: number;
  deadLettered: number;
  updatedAt: string;
}

/**
 * One event. A receiver gets `{"events":[...]}` per POST (one or more events of one subscription, in
 * order); `id` is deterministic, so receivers dedupe by it.
 */
export interface DeliveryEvent {
  id: string;
  kind: SubscriptionKind;
  subscriptionId: string;
  consortiumId: string;
  /** Chain events: block height and position (tx index; 0 for a block event). */
  height?: number;
  index?: number;
  blockHash?: string;
  /** When the block was committed (header time) or the change recorded, ISO-8601. */
  at: string;
  block?: { height: number; hash: string; time: string; txCount: number; txHashes: string[] };
  tx?: { hash: string; type: string; signer: string; nonce: number; body: Record<string, unknown>; code: string };
  change?: {
    seq: number;
    id: string;
    type: string;
    resource: string;
    actor: string;
    details?: Record<string, unknown>;
  };
}

export interface DeadLetter {
  version: number;
  /** Sort key within the subscription (position of the event). */
  position: string;
  event: DeliveryEvent;
  attempts: number;
  lastError: string;
  status: 'FAILED' | 'REDELIVERING';
  failedAt: string;
}

/** An event plus where the cursor goes once it is done. */
export interface PendingEvent {
  event: DeliveryEvent;
  position: string;
  next: { height: number; index: number; seq: number };
  /** Commit time in ms (latency metric). */
  committedAtMs: number;
}
