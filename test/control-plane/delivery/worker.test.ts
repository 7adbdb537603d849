/**
 * Subscriptions API and the delivery worker over a real store and a real HTTPS receiver, for
 * control-plane change events (chain events: test/e2e/event-delivery.test.ts, with real nodes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/lib/logging.js';
import {
  DeliveryWorker,
  httpsWebhookClient,
  nodeChainReader,
  type WebhookClient,
} from '../../../src/control-plane/delivery/index.js';
import { queries } from '../../../src/control-plane/store/index.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../harness/webhook-receiver.js';
import { call, createConsortium, createOrg, startHarness, type Harness, type OrgFixture } from '../helpers.js';

describe('webhook subscriptions: API and control-plane event delivery', () => {
  let h: Harness;
  let a: OrgFixture;
  let b: OrgFixture;
  let outsider: OrgFixture;
  let cid = '';
  let rx: WebhookReceiver;
  let client: WebhookClient;
  const config = {
    allowHttpLoopback: false,
    maxAttempts: 3,
    backoffBaseMs: 1000,
    backoffMaxMs: 60_000,
    pollIntervalMs: 100,
    concurrency: 4,
  };
  const worker = () =>
    new DeliveryWorker({
      store: h.store,
      chain: nodeChainReader((c) => queries(h.store).consortiumNodes(c)),
      webhooks: client,
      metrics: h.ctx.metrics,
      config,
      logger: createLogger('silent'),
      now: () => h.clock.ms,
    });

  /** One round, waited for: pass() only starts the subscriptions' turns. */
  const run = async (w: DeliveryWorker) => {
    await w.pass();
    await w.settle();
  };

  beforeAll(async () => {
    h = await startHarness();
    a = await createOrg(h, 'acme');
    b = await createOrg(h, 'globex');
    outsider = await createOrg(h, 'initech');
    cid = (await createConsortium(h, a, [a.id, b.id])).id;
    rx = await startWebhookReceiver();
    client = httpsWebhookClient(rx.cert);
  });
  afterAll(async () => {
    client?.close();
    await rx?.close();
    await h?.close();
  });

  const subscribe = (token: string, body: unknown) =>
    call(h, 'POST', `/v1/consortia/${cid}/subscriptions`, token, body);
  const propose = async (n: number) => {
    const r = await call(h, 'POST', `/v1/consortia/${cid}/proposals`, a.adminToken, {
      action: { type: 'change_params', params: { blockIntervalMs: 300 + n } },
    });
    expect(r.statusCode).toBe(201);
    return r.json().id as string;
  };

  it('refuses bad subscriptions with a 400 naming the field, and changes nothing', async () => {
    const cases: [unknown, string][] = [
      [{ url: 'http://127.0.0.1:9/hook', filter: { kind: 'blocks' } }, 'url'],
      [{ url: 'https://user:pw@example.com/hook', filter: { kind: 'blocks' } }, 'url'],
      [{ url: 'not a url', filter: { kind: 'blocks' } }, 'url'],
      [{ url: rx.url, filter: { kind: 'account_txs' } }, 'filter.account'],
      [{ url: rx.url, filter: { kind: 'asset_movements', account: 'ab'.repeat(32) } }, 'filter.asset'],
      [{ url: rx.url, filter: { kind: 'blocks', asset: 'PTS' } }, 'filter.asset'],
      [{ url: rx.url, filter: { kind: 'control_plane' }, fromHeight: 3 }, 'fromHeight'],
      [{ url: rx.url, filter: { kind: 'blocks' }, extra: 1 }, 'extra'],
      [{ url: rx.url, filter: { kind: 'nope' } }, 'kind'],
      [{ url: rx.url, filter: { kind: 'blocks' }, fromHeight: '3' }, 'fromHeight'],
    ];
    for (const [body, field] of cases) {
      const r = await subscribe(a.operatorToken, body);
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expect(r.json().error.code).toBe('VALIDATION_FAILED');
      expect(JSON.stringify(r.json().error)).toContain(field);
    }
    expect((await call(h, 'GET', `/v1/consortia/${cid}/subscriptions`, a.viewerToken)).json().items).toEqual([]);
  });

  it('authorizes: an organization subscribes (operator), not a platform admin, a viewer or a non-member', async () => {
    const body = { url: rx.url, filter: { kind: 'blocks' } };
    expect((await subscribe(h.admin, body)).statusCode).toBe(403);
    expect((await subscribe(a.viewerToken, body)).statusCode).toBe(403);
    expect([403, 404]).toContain((await subscribe(outsider.adminToken, body)).statusCode);
    expect((await subscribe('', body)).statusCode).toBe(401);
  });

  let subA = '';
  it('creates a subscription: the secret once, never again; other organizations do not see it', async () => {
    const r = await subscribe(a.operatorToken, { url: rx.url, filter: { kind: 'control_plane' } });
    expect(r.statusCode).toBe(201);
    const created = r.json();
    expect(created).toMatchObject({
      consortiumId: cid,
      orgId: a.id,
      url: rx.url,
      filter: { kind: 'control_plane' },
      status: 'ACTIVE',
      cursor: null,
    });
    expect(created.secret).toMatch(/^whsec_[0-9a-f]{64}$/);
    subA = created.id;
    rx.secrets.set(subA, created.secret);
    const shown = await call(h, 'GET', `/v1/consortia/${cid}/subscriptions/${subA}`, a.viewerToken);
    expect(shown.statusCode).toBe(200);
    expect(shown.body).not.toContain(created.secret);
    expect(
      (await call(h, 'GET', `/v1/consortia/${cid}/subscriptions`, a.viewerToken)).json().items.map((s: any) => s.id),
    ).toEqual([subA]);
    expect((await call(h, 'GET', `/v1/consortia/${cid}/subscriptions`, b.viewerToken)).json().items).toEqual([]);
    expect((await call(h, 'GET', `/v1/consortia/${cid}/subscriptions/${subA}`, b.viewerToken)).statusCode).toBe(404);
    expect((await call(h, 'DELETE', `/v1/consortia/${cid}/subscriptions/${subA}`, b.adminToken)).statusCode).toBe(404);
  });

  it('delivers control-plane changes in commit order, signed, and resumes from the durable cursor', async () => {
    const pids = [await propose(1), await propose(2), await propose(3)];
    await run(worker());
    const mine = () => rx.received.filter((r) => r.subscriptionId === subA);
    const types = mine().map((r) => r.event.change.type);
    expect(types).toEqual(['subscription.created', 'proposal.created', 'proposal.created', 'proposal.created']);
    expect(
      mine()
        .filter((r) => r.event.change.type === 'proposal.created')
        .map((r) => r.event.change.resource),
    ).toEqual(pids.map((p) => `consortia/${cid}/proposals/${p}`));
    const seqs = mine().map((r) => r.event.change.seq as number);
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
    expect(mine().every((r) => rx.signatureValid(r) && r.eventId === r.event.id)).toBe(true);
    // a fresh worker (a restarted control plane) delivers nothing twice, then the next change
    await run(worker());
    expect(mine()).toHaveLength(4);
    await propose(4);
    await run(worker());
    expect(mine()).toHaveLength(5);
    const s = (await call(h, 'GET', `/v1/consortia/${cid}/subscriptions/${subA}`, a.viewerToken)).json();
    expect(s.cursor).toMatchObject({
      delivered: 5,
      deadLettered: 0,
      attempts: 0,
      seq: seqs.length ? mine()[4]!.event.change.seq : 0,
    });
  });

  it('retries with backoff, dead-letters after maxAttempts and goes on; redeliver and acknowledge', async () => {
    const r = await subscribe(b.operatorToken, { url: rx.url, filter: { kind: 'control_plane' } });
    expect(r.statusCode).toBe(201);
    const sid = r.json().id as string;
    rx.secrets.set(sid, r.json().secret);
    rx.answer.set(sid, 500);
    const w = worker();
    await run(w); // attempt 1 of the subscription.created event fails
    let s = (await call(h, 'GET', `/v1/consortia/${cid}/subscriptions/${sid}`, b.viewerToken)).json();
    expect(s.cursor).toMatchObject({ attempts: 1, delivered: 0 });
    expect(s.cursor.lastError).toContain('500');
    const retryAt = Date.parse(s.cursor.nextAttemptAt);
    expect(retryAt).toBeGreaterThan(h.clock.ms);
    await run(w); // not due yet: no attempt
    expect(
      (await call(h, 'GET', `/v1/consortia/${cid}/subscriptions/${sid}`, b.viewerToken)).json().cursor.attempts,
    ).toBe(1);
    for (let i = 0; i < 2; i++) {
      h.clock.ms += 3_600_000;
      await run(w);
    }
    // third failure: dead-lettered; the cursor moved on, the next event (the proposal) is tried
    const dl = (await call(h, 'GET', `/v1/consortia/${cid}/subscriptions/${sid}/dead-letters`, b.viewerToken)).json();
    expect(dl.items).toHaveLength(1);
    expect(dl.items[0]).toMatchObject({
      attempts: 3,
      status: 'FAILED',
      event: { change: { type: 'subscription.created' } },
    });
    expect(dl.items[0].lastError).toContain('500');
    await propose(5);
    for (let i = 0; i < 3; i++) {
      h.clock.ms += 3_600_000;
      await run(w);
    }
    const both = (await call(h, 'GET', `/v1/consortia/${cid}/subscriptions/${sid}/dead-letters`, b.viewerToken)).json()
      .items;
    expect(both.map((d: any) => d.event.change.type)).toEqual(['subscription.created', 'proposal.created']);
    s = (await call(h, 'GET', `/v1/consortia/${cid}/subscriptions/${sid}`, b.viewerToken)).json();
    expect(s.cursor).toMatchObject({ deadLettered: 2, delivered: 0, attempts: 0 });
    // the receiver recovers; an operator redelivers the first and acknowledges the second
    rx.answer.set(sid, 200);
    expect(
      (
        await call(
          h,
          'POST',
          `/v1/consortia/${cid}/subscriptions/${sid}/dead-letters/${encodeURIComponent('999:control_plane')}/redeliver`,
          b.operatorToken,
        )
      ).statusCode,
    ).toBe(404);
    expect(
      (
        await call(
          h,
          'POST',
          `/v1/consortia/${cid}/subscriptions/${sid}/dead-letters/${encodeURIComponent(both[0].id)}/redeliver`,
          b.viewerToken,
        )
      ).statusCode,
    ).toBe(403);
    const red = await call(
      h,
      'POST',
      `/v1/consortia/${cid}/subscriptions/${sid}/dead-letters/${encodeURIComponent(both[0].id)}/redeliver`,
      b.operatorToken,
    );
    expect(red.statusCode).toBe(202);
    expect(red.json().status).toBe('REDELIVERING');
    await run(w);
    const got = rx.received.filter((x) => x.subscriptionId === sid);
    expect(got.map((x) => x.event.id)).toEqual([both[0].id]);
    expect(rx.signatureValid(got[0]!)).toBe(true);
    expect(
      (
        await call(
          h,
          'DELETE',
          `/v1/consortia/${cid}/subscriptions/${sid}/dead-letters/${encodeURIComponent(both[1].id)}`,
          b.operatorToken,
        )
      ).statusCode,
    ).toBe(204);
    expect(
      (await call(h, 'GET', `/v1/consortia/${cid}/subscriptions/${sid}/dead-letters`, b.viewerToken)).json().items,
    ).toEqual([]);
    // deleting the subscription stops delivery
    expect((await call(h, 'DELETE', `/v1/consortia/${cid}/subscriptions/${sid}`, b.operatorToken)).statusCode).toBe(
      204,
    );
    expect((await call(h, 'GET', `/v1/consortia/${cid}/subscriptions/${sid}`, b.viewerToken)).statusCode).toBe(404);
    await propose(6);
    await run(w);
    expect(rx.received.filter((x) => x.subscriptionId === sid)).toHaveLength(1);
  });
});
