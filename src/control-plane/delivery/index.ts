export { DeliveryWorker, EVENTS_PER_PASS_MAX, type DeliveryWorkerDeps } from './worker.js';
export { nodeChainReader, type ChainReader } from './chain-reader.js';
export {
  httpsWebhookClient,
  deliveryBody,
  type WebhookClient,
  type WebhookDelivery,
  type WebhookResult,
} from './webhook-client.js';
export {
  WebhookConfigSchema,
  WEBHOOK_BATCH_BYTES_MAX,
  WEBHOOK_BATCH_EVENTS_DEFAULT,
  WEBHOOK_BATCH_EVENTS_MAX,
  type WebhookConfig,
} from './config.js';
export { takeBatch, positionOf, type Batch, type Pos } from './batch.js';
export {
  signPayload,
  verifySignature,
  openWebhookDelivery,
  generateSubscriptionSecret,
  WebhookCodes,
  SIGNATURE_HEADER,
  EVENT_COUNT_HEADER,
  SUBSCRIPTION_ID_HEADER,
} from '../../lib/webhook-signature.js';
export { deliveryBackoffMs } from './backoff.js';
export * from './events.js';
export type * from './types.js';
