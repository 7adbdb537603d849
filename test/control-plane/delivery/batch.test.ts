/** Cutting a subscription's next events into one POST: count and byte caps, order, positions. */
import { describe, expect, it } from 'vitest';
import { BATCH_BODY_OVERHEAD_BYTES, positionOf, takeBatch } from '../../../src/control-plane/delivery/batch.js';
import { WEBHOOK_BATCH_BYTES_MAX } from '../../../src/control-plane/delivery/config.js';
import { chainEvent, changeEvent, type BlockView } from '../../../src/control-plane/delivery/events.js';
import type { PendingEvent, Subscription } from '../../../src/control-plane/delivery/types.js';
import { deliveryBody } from '../../../src/control-plane/delivery/webhook-client.js';
import { openWebhookDelivery, signPayload, WebhookCodes } from '../../../src/lib/webhook-signature.js';

const sub: Subscription = {
  version: 1,
  id: 'sub_1',
  consortiumId: 'cons_1',
  orgId: 'org_a',
  url: 'https://x',
  filter: { kind: 'blocks' },
  status: 'ACTIVE',
  createdAt: '',
};

/** Block events at heights 10.. with `hashes` tx hashes each, so their size is chosen by the test. */
function blocks(n: number, hashes = 1): PendingEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const b: BlockView = {
      height: 10 + i,
      hash: 'ab'.repeat(32),
      timeMs: 0,
      txs: Array.from({ length: hashes }, () => ({ hash: 'cd'.repeat(32), type: 'x', signer: '', nonce: 0, body: {} })),
    };
    return chainEvent(sub, b, 0, undefined);
  });
}

const bytesOf = (events: PendingEvent[]) => Buffer.byteLength(deliveryBody(events.map((p) => JSON.stringify(p.event))));

describe('takeBatch', () => {
  it('takes the first events in order, at most maxEvents', () => {
    const ten = blocks(10);
    const b = takeBatch(ten, 4, WEBHOOK_BATCH_BYTES_MAX);
    expect(b.events.map((p) => p.event.id)).toEqual(['10:0:blocks', '11:0:blocks', '12:0:blocks', '13:0:blocks']);
    expect(takeBatch(ten, 100, WEBHOOK_BATCH_BYTES_MAX).events).toHaveLength(10);
    expect(takeBatch(ten, 1, WEBHOOK_BATCH_BYTES_MAX).events).toHaveLength(1);
    expect(takeBatch([], 5, WEBHOOK_BATCH_BYTES_MAX).events).toEqual([]);
  });

  it('counts the body bytes exactly as deliveryBody makes them', () => {
    const five = blocks(5);
    const b = takeBatch(five, 5, WEBHOOK_BATCH_BYTES_MAX);
    expect(b.bytes).toBe(bytesOf(five));
    expect(deliveryBody(b.json)).toBe(JSON.stringify({ events: five.map((p) => p.event) }));
    expect(takeBatch([], 5, 100).bytes).toBe(BATCH_BODY_OVERHEAD_BYTES);
  });

  it('ends a batch before the event that would pass the byte cap', () => {
    const five = blocks(5, 40); // a few KB each
    const cap = bytesOf(five.slice(0, 3)); // exactly three fit
    expect(takeBatch(five, 100, cap).events).toHaveLength(3);
    expect(takeBatch(five, 100, cap - 1).events).toHaveLength(2);
    expect(takeBatch(five, 2, cap).events).toHaveLength(2); // the count cap binds first
    for (const b of [takeBatch(five, 100, cap), takeBatch(five, 100, cap - 1)])
      expect(b.bytes).toBeLessThanOrEqual(cap);
  });

  it('sends an event larger than the cap alone rather than never', () => {
    const big = blocks(3, 200);
    const b = takeBatch(big, 100, 1_000);
    expect(b.events).toHaveLength(1);
    expect(b.bytes).toBeGreaterThan(1_000);
  });
});

describe('positionOf', () => {
  it('is the cursor position at which delivery of the event resumes', () => {
    const [b] = blocks(1);
    expect(positionOf(b!)).toEqual({ height: 10, index: 0, seq: 0 });
    const c = changeEvent({ ...sub, filter: { kind: 'control_plane' } }, 42, {
      id: 'aud_1',
      at: '2026-03-01T10:00:00.000Z',
      actor: 'x',
      action: 'proposal.created',
      resource: 'consortia/cons_1/proposals/p1',
      orgIds: ['org_a'],
    } as never);
    // the change log is read after the cursor's seq: resuming at seq 42 means a cursor at 41
    expect(positionOf(c)).toEqual({ height: 0, index: 0, seq: 41 });
    expect(c.next.seq).toBe(42);
  });
});

describe('openWebhookDelivery', () => {
  const secret = 'whsec_test';
  const body = deliveryBody(blocks(2).map((p) => JSON.stringify(p.event)));

  it('returns the events of a signed body in order', () => {
    const sig = signPayload(secret, 1_000, body);
    expect(openWebhookDelivery(secret, sig, body, 1_500, 60_000).map((e) => e.id)).toEqual([
      '10:0:blocks',
      '11:0:blocks',
    ]);
  });

  it('refuses a bad signature or a body that is not a batch, with a stable code', () => {
    const sig = signPayload(secret, 1_000, body);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return (err as { code?: string }).code;
      }
      return undefined;
    };
    expect(code(() => openWebhookDelivery(secret, sig, `${body} `, 1_500, 60_000))).toBe(
      WebhookCodes.SIGNATURE_INVALID,
    );
    expect(code(() => openWebhookDelivery(secret, undefined, body, 1_500, 60_000))).toBe(
      WebhookCodes.SIGNATURE_INVALID,
    );
    expect(code(() => openWebhookDelivery(secret, sig, body, 1_000 + 61_000, 60_000))).toBe(
      WebhookCodes.SIGNATURE_INVALID,
    );
    const single = JSON.stringify({ id: '10:0:blocks' }); // the shape before batches
    expect(code(() => openWebhookDelivery(secret, signPayload(secret, 1_000, single), single, 1_000, 60_000))).toBe(
      WebhookCodes.BODY_INVALID,
    );
  });
});
