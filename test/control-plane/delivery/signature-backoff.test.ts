import { describe, expect, it } from 'vitest';
import { deliveryBackoffMs } from '../../../src/control-plane/delivery/backoff.js';
import { generateSubscriptionSecret, signPayload, verifySignature } from '../../../src/lib/webhook-signature.js';

describe('webhook signature', () => {
  const secret = generateSubscriptionSecret();
  const body = JSON.stringify({ id: '1:0:blocks' });

  it('verifies its own signature and refuses a changed body, secret or stale timestamp', () => {
    const h = signPayload(secret, 1_000_000, body);
    expect(h).toMatch(/^t=1000000,v1=[0-9a-f]{64}$/);
    expect(verifySignature(secret, h, body, 1_000_500, 60_000)).toBe(true);
    expect(verifySignature(secret, h, `${body} `, 1_000_500, 60_000)).toBe(false);
    expect(verifySignature(generateSubscriptionSecret(), h, body, 1_000_500, 60_000)).toBe(false);
    expect(verifySignature(secret, h, body, 1_000_000 + 61_000, 60_000)).toBe(false);
    expect(verifySignature(secret, 't=1000000,v1=zz', body, 1_000_000, 60_000)).toBe(false);
  });

  it('the timestamp is inside the MAC', () => {
    const h = signPayload(secret, 1_000_000, body);
    const moved = h.replace('t=1000000', 't=1000001');
    expect(verifySignature(secret, moved, body, 1_000_000, 60_000)).toBe(false);
  });
});

describe('delivery backoff', () => {
  it('doubles per attempt, is capped, and jitters within [half, full]', () => {
    expect(deliveryBackoffMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(deliveryBackoffMs(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(deliveryBackoffMs(3, 1000, 60_000, () => 1)).toBe(4000);
    expect(deliveryBackoffMs(30, 1000, 60_000, () => 1)).toBe(60_000);
    for (let i = 0; i < 100; i++) {
      const d = deliveryBackoffMs(4, 1000, 60_000);
      expect(d).toBeGreaterThanOrEqual(4000);
      expect(d).toBeLessThanOrEqual(8000);
    }
  });
});
