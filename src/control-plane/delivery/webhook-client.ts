/**
 * POSTs one signed event to a receiver over HTTPS (http only on loopback when the configuration
 * allows it; routes-subscriptions.ts checks URLs at creation). Redirects are not followed: any
 * answer but 2xx is a failed attempt.
 */
import { request as httpRequest, Agent as HttpAgent } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { EVENT_ID_HEADER, signPayload, SIGNATURE_HEADER, SUBSCRIPTION_ID_HEADER } from '../../lib/webhook-signature.js';
import type { DeliveryEvent } from './types.js';

/** A receiver must answer within this time. */
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** Bytes of a receiver's answer kept for the error message; the rest is discarded. */
export const WEBHOOK_RESPONSE_KEEP_BYTES = 512;
/** Open connections per receiver host (keep-alive: one event after another on the same socket). */
export const WEBHOOK_SOCKETS_PER_HOST_MAX = 4;

export interface WebhookResult {
  ok: boolean;
  status?: number;
  error?: string;
}

export interface WebhookClient {
  post(url: string, secret: string, event: DeliveryEvent): Promise<WebhookResult>;
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
    post(url, secret, event) {
      const body = JSON.stringify(event);
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
              [EVENT_ID_HEADER]: event.id,
              [SUBSCRIPTION_ID_HEADER]: event.subscriptionId,
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
