export { DeliveryWorker, EVENTS_PER_PASS_MAX, type DeliveryWorkerDeps } from './worker.js';
export { nodeChainReader, type ChainReader } from './chain-reader.js';
export { httpsWebhookClient, type WebhookClient, type WebhookResult } from './webhook-client.js';
export { WebhookConfigSchema, type WebhookConfig } from './config.js';
export {
  signPayload,
  verifySignature,
  generateSubscriptionSecret,
  SIGNATURE_HEADER,
  EVENT_ID_HEADER,
  SUBSCRIPTION_ID_HEADER,
} from '../../lib/webhook-signature.js';
export { deliveryBackoffMs } from './backoff.js';
export * from './events.js';
export type * from './types.js';
