/**
 * POSTs one signed batch of events (`{"events":[...]}`, deliveryBody) to a receiver over HTTPS (http only on loopback when the configuration
 * allows it; routes-subscriptions.ts checks URLs at creation). Redirects are not followed: any
 * answer but 2xx is a failed attempt.
 */
import { request as httpRequest, Agent as HttpAgent } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import {
  EVENT_COUNT_HEADER,
  signPayload,
  SIGNATURE_HEADER,
  SUBSCRIPTION_ID_HEADER,
} from '../../lib/webhook-signature.js';

/** A receiver must answer within this time. */
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** Bytes of a receiver's answer kept for the error message; the rest is discarded. */
export const WEBHOOK_RESPONSE_KEEP_BYTES = 512;
/** Open connections per receiver host (keep-alive: one batch after another on the same socket). */
export const WEBHOOK_SOCKETS_PER_HOST_MAX = 4;

export interface WebhookResult {
  ok: boolean;
  status?: number;
  error?: string;
}

/** One POST: the body is signed as is. */
export interface WebhookDelivery {
  subscriptionId: string;
  /** `{"events":[...]}` (deliveryBody). */
  body: string;
  /** Events in the body. */
  count: number;
}

/** The body of a delivery from events already serialized one by one (the worker sizes batches by them). */
export const deliveryBody = (eventsJson: readonly string[]): string => `{"events":[${eventsJson.join(',')}]}`;

export interface WebhookClient {
  post(url: string, secret: string, delivery: WebhookDelivery): Promise<WebhookResult>;
  close(): void;
}

/** `extraCa`: PEM trusted for receivers in addition to the system roots (config webhooks.caFile). */
export function httpsWebhookClient(extraCa?: string, now: () => number = Date.now): WebhookClient {
  const https = new HttpsAgent({
    keepAlive: true,
    maxSockets: WEBHOOK_SOCKETS_PER_HOST_MAX,
    ...(extraCa ? { ca: [...rootCertificates, extraCa] } : {}),
  });
  const http = new HttpAgent({ keepAlive: true, maxSockets: WEBHOOK_SOCKETS_PER_HOST_MAX });
  return {
    post(url, secret, { subscriptionId, body, count }) {
      const u = new URL(url);
      const secure = u.protocol === 'https:';
      const send = secure ? httpsRequest : httpRequest;
      return new Promise<WebhookResult>((resolve) => {
        const req = send(
          u,
          {
            method: 'POST',
            agent: secure ? https : http,
            timeout: WEBHOOK_TIMEOUT_MS,
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
              'user-agent': 'consortia-webhooks/1',
              [SIGNATURE_HEADER]: signPayload(secret, now(), body),
              [EVENT_COUNT_HEADER]: String(count),
              [SUBSCRIPTION_ID_HEADER]: subscriptionId,
            },
          },
          (res) => {
            const status = res.statusCode ?? 0;
            let kept = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => {
              if (kept.length < WEBHOOK_RESPONSE_KEEP_BYTES)
                kept += c.slice(0, WEBHOOK_RESPONSE_KEEP_BYTES - kept.length);
            });
            res.on('end', () => {
              resolve(
                status >= 200 && status < 300
                  ? { ok: true, status }
                  : { ok: false, status, error: `HTTP ${status}${kept ? `: ${kept}` : ''}` },
              );
            });
            res.on('error', (err) => resolve({ ok: false, status, error: err.message }));
          },
        );
        req.on('timeout', () => req.destroy(new Error(`no answer within ${WEBHOOK_TIMEOUT_MS} ms`)));
        req.on('error', (err) => resolve({ ok: false, error: err.message }));
        req.end(body);
      });
    },
    close() {
      https.destroy();
      http.destroy();
    },
  };
}
