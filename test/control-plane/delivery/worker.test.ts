/**
 * Subscriptions API and the delivery worker over a real store and a real HTTPS receiver, for
 * control-plane change events (chain events: test/e2e/event-delivery.test.ts, with real nodes):
 * batches, their cursor, retries and dead letters.
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
import { openWebhookDelivery } from '../../../src/lib/webhook-signature.js';
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
      [{ url: rx.url, filter: { kind: 'blocks' }, maxBatchEvents: 0 }, 'maxBatchEvents'],
      [{ url: rx.url, filter: { kind: 'blocks' }, maxBatchEvents: 1001 }, 'maxBatchEvents'],
      [{ url: rx.url, filter: { kind: 'blocks' }, maxBatchEvents: 2.5 }, 'maxBatchEvents'],
      [{ url: rx.url, filter: { kind: 'blocks' }, maxBatchEvents: '10' }, 'maxBatchEvents'],
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
      maxBatchEvents: 100,
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
  /** A fresh control_plane subscription of acme's with this batch size; its secret is known to the receiver. */
  const batched = async (maxBatchEvents: number) => {
    const r = await subscribe(a.operatorToken, { url: rx.url, filter: { kind: 'control_plane' }, maxBatchEvents });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json().maxBatchEvents).toBe(maxBatchEvents);
    rx.secrets.set(r.json().id, r.json().secret);
    return { sid: r.json().id as string, secret: r.json().secret as string };
  };
  const postsOf = (sid: string) => rx.deliveries.filter((d) => d.subscriptionId === sid);
  const seqOf = (id: string) => Number(id.split(':')[0]);
  const cursorOf = async (sid: string) =>
    (await call(h, 'GET', `/v1/consortia/${cid}/subscriptions/${sid}`, a.viewerToken)).json().cursor;

  it('delivers in ordered batches of at most maxBatchEvents, each signed over its whole body', async () => {
    const { sid, secret } = await batched(2);
    for (let i = 0; i < 4; i++) await propose(10 + i);
    await run(worker());
    // subscription.created and four proposal.created: POSTs of 2, 2 and 1, in order
    const posts = postsOf(sid);
    expect(posts.map((d) => d.eventIds.length)).toEqual([2, 2, 1]);
    expect(posts.every((d) => d.status === 200 && d.countHeader === String(d.eventIds.length))).toBe(true);
    const ids = posts.flatMap((d) => d.eventIds);
    expect(ids.map(seqOf)).toEqual([...ids.map(seqOf)].sort((x, y) => x - y));
    expect(new Set(ids).size).toBe(5);
    const mine = rx.received.filter((r) => r.subscriptionId === sid);
    expect(mine.map((r) => r.event.change.type)).toEqual([
      'subscription.created',
      ...Array(4).fill('proposal.created'),
    ]);
    // the SDK's helper checks the signature over the raw body and returns the batch
    const first = mine[0]!;
    expect(openWebhookDelivery(secret, first.signature, first.body, first.at, 60_000).map((e) => e.id)).toEqual(
      posts[0]!.eventIds,
    );
    expect(await cursorOf(sid)).toMatchObject({ delivered: 5, attempts: 0, seq: seqOf(ids[4]!) });
  });

  it('moves the cursor only on a 2xx; a batch that failed partway is retried as a unit, in order', async () => {
    const { sid } = await batched(3);
    const before = (await cursorOf(sid)) ?? { seq: undefined };
    await propose(20); // with subscription.created: a batch of 2, room for a third
    rx.failAfter.set(sid, 1); // the receiver takes the first event of the next POST, then answers 500
    const w = worker();
    await run(w);
    const failed = postsOf(sid);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.status).toBe(500);
    expect(failed[0]!.eventIds).toHaveLength(2);
    // nothing counted as delivered: the cursor stays before the batch's first event
    let cur = await cursorOf(sid);
    expect(cur).toMatchObject({ attempts: 1, delivered: 0 });
    expect(cur.seq).toBe(seqOf(failed[0]!.eventIds[0]!) - 1);
    if (before.seq !== undefined) expect(cur.seq).toBe(before.seq);
    await propose(21); // newer events: not slipped into the retry
    await propose(22);
    await run(w); // backoff not over: no attempt
    expect(postsOf(sid)).toHaveLength(1);
    h.clock.ms += 3_600_000;
    await run(w);
    const posts = postsOf(sid);
    expect(posts.map((d) => d.status)).toEqual([500, 200, 200]);
    expect(posts[1]!.eventIds).toEqual(failed[0]!.eventIds); // the same batch again
    expect(posts[2]!.eventIds).toHaveLength(2); // the newer ones after it
    // what the receiver took: the first event twice (at least once), and after dedupe all in order
    const taken = rx.received.filter((r) => r.subscriptionId === sid).map((r) => r.eventId);
    expect(taken[0]).toBe(taken[1]);
    const deduped = [...new Set(taken)];
    expect(deduped).toEqual([...failed[0]!.eventIds, ...posts[2]!.eventIds]);
    expect(deduped.map(seqOf)).toEqual([...deduped.map(seqOf)].sort((x, y) => x - y));
    cur = await cursorOf(sid);
    expect(cur).toMatchObject({ attempts: 0, delivered: 4, seq: seqOf(deduped[3]!) });
  });

  it('dead-letters a batch that keeps failing, every event of it, and goes on', async () => {
    const { sid } = await batched(2);
    await propose(30);
    await propose(31); // three events: a batch of 2, then 1
    rx.answer.set(sid, 503);
    const w = worker();
    for (let i = 0; i < 3; i++) {
      await run(w);
      h.clock.ms += 3_600_000;
    }
    const dl: { id: string; attempts: number; lastError: string }[] = (
      await call(h, 'GET', `/v1/consortia/${cid}/subscriptions/${sid}/dead-letters`, a.viewerToken)
    ).json().items;
    expect(dl.map((d) => d.id)).toEqual(postsOf(sid)[0]!.eventIds);
    expect(dl.every((d) => d.attempts === 3 && d.lastError.includes('503'))).toBe(true);
    const cur = await cursorOf(sid);
    expect(cur).toMatchObject({ deadLettered: 2, delivered: 0 });
    expect(cur.seq).toBe(seqOf(dl[1]!.id));
    // the next batch is tried once the receiver recovers
    rx.answer.delete(sid);
    await run(w);
    expect(postsOf(sid).at(-1)).toMatchObject({ status: 200 });
    expect((await cursorOf(sid)).delivered).toBe(1);
  });
});
