/**
 * A real HTTPS webhook receiver for delivery tests: a self-signed certificate (lib/tls-cert.ts) the
 * control plane is told to trust, every POST (`{"events":[...]}`) recorded event by event with its
 * signature checked against the subscription's secret, and a per-subscription answer (2xx, an
 * error status to exercise retries, or a receiver that fails partway through a batch).
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSelfSignedCert } from '../../src/lib/tls-cert.js';
import { verifySignature } from '../../src/lib/webhook-signature.js';

export interface Received {
  subscriptionId: string;
  eventId: string;
  // biome-ignore lint/suspicious/noExplicitAny: the event JSON, read field by field by the tests
  event: any;
  /** The whole body of the POST that carried it (what the signature covers). */
  body: string;
  signature: string;
  at: number;
  /** Number of the POST that carried it (deliveries[delivery]). */
  delivery: number;
}

/** One POST as it arrived, whatever the answer. */
export interface Delivery {
  subscriptionId: string;
  eventIds: string[];
  /** The Consortia-Event-Count header. */
  countHeader: string;
  bytes: number;
  status: number;
  at: number;
}

export interface WebhookReceiver {
  url: string;
  /** PEM of the receiver's certificate (the control plane's webhooks.caFile). */
  cert: string;
  /** Every event taken (answered 2xx, or before the failure point of a partial failure), in arrival order. */
  received: Received[];
  deliveries: Delivery[];
  /** Signing secret per subscription id (set after creating the subscription). */
  secrets: Map<string, string>;
  /** Status to answer per subscription id (default 200). */
  answer: Map<string, number>;
  /**
   * Per subscription id: the next POST has only its first n events taken, then is answered 500 (a
   * receiver that failed partway through a batch); used once.
   */
  failAfter: Map<string, number>;
  /** Whether a recorded delivery carries a valid signature by its subscription's secret (checked when asked: the secret is known only after creation). */
  signatureValid(r: Received): boolean;
  close(): Promise<void>;
}

/** Signatures older than this are refused (clock skew between processes on one host is ~0). */
const SIGNATURE_TOLERANCE_MS = 5 * 60_000;

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const { cert, key } = await createSelfSignedCert(['127.0.0.1', 'localhost'], 'webhook-receiver');
  const received: Received[] = [];
  const deliveries: Delivery[] = [];
  const secrets = new Map<string, string>();
  const answer = new Map<string, number>();
  const failAfter = new Map<string, number>();
  const server: Server = createServer({ cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const sid = String(req.headers['consortia-subscription-id'] ?? '');
      // biome-ignore lint/suspicious/noExplicitAny: the body JSON
      const events: any[] = JSON.parse(body).events;
      const partial = failAfter.get(sid);
      if (partial !== undefined) failAfter.delete(sid);
      const status = partial !== undefined ? 500 : (answer.get(sid) ?? 200);
      const taken = partial ?? (status >= 200 && status < 300 ? events.length : 0);
      const at = Date.now();
      const delivery = deliveries.length;
      deliveries.push({
        subscriptionId: sid,
        eventIds: events.map((e) => String(e.id)),
        countHeader: String(req.headers['consortia-event-count'] ?? ''),
        bytes: Buffer.byteLength(body),
        status,
        at,
      });
      const signature = String(req.headers['consortia-signature'] ?? '');
      for (const event of events.slice(0, taken))
        received.push({ subscriptionId: sid, eventId: String(event.id), event, body, signature, at, delivery });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'receiver says no');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}/hook`,
    cert,
    received,
    deliveries,
    secrets,
    answer,
    failAfter,
    signatureValid: (r) => {
      const secret = secrets.get(r.subscriptionId);
      return secret !== undefined && verifySignature(secret, r.signature, r.body, r.at, SIGNATURE_TOLERANCE_MS);
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
