/**
 * The delivery worker: for each subscription, in order, the next events after its durable cursor
 * are POSTed to the receiver in one batch (`{"events":[...]}`, up to the subscription's
 * maxBatchEvents and WEBHOOK_BATCH_BYTES_MAX); the cursor moves past the batch only after a 2xx (or
 * once its events are dead-lettered, in the same store batch as the dead letters), with one store
 * write per batch. A failed batch is retried as a unit. A crash between a 2xx and the cursor write
 * re-sends that one batch: delivery is at-least-once, receivers dedupe by event id.
 */
import type { Logger } from '../../lib/logging.js';
import type { AuditEvent } from '../domain/types.js';
import type { ControlPlaneMetrics } from '../metrics.js';
import { K, type LevelStore, type UnitOfWork } from '../store/index.js';
import { deliveryBackoffMs } from './backoff.js';
import { positionOf, samePos, takeBatch, type Batch, type Pos } from './batch.js';
import { BLOCK_READS_IN_FLIGHT_MAX, type ChainReader } from './chain-reader.js';
import { WEBHOOK_BATCH_BYTES_MAX, WEBHOOK_BATCH_EVENTS_DEFAULT, type WebhookConfig } from './config.js';
import { chainEvent, changeEvent, changeMatches, nextIndexInBlock, type BlockView } from './events.js';
import type { DeadLetter, PendingEvent, Subscription, SubscriptionCursor, SubscriptionSecret } from './types.js';
import { deliveryBody, type WebhookClient } from './webhook-client.js';

/** Events one subscription gets per turn (in batches) before it goes back in line. */
export const EVENTS_PER_PASS_MAX = 2_000;
/** Blocks (or change-log entries) scanned for one batch at most. */
export const POSITIONS_SCANNED_PER_PASS_MAX = 2_000;
/** Change-log entries read per store query. */
const CHANGES_PER_READ = 200;
/** Dead letters retried per subscription and turn after a redeliver request. */
export const REDELIVERIES_PER_PASS_MAX = 20;
/** Kept of a receiver's error in the cursor and dead letters. */
const ERROR_KEEP_CHARS = 300;

export interface DeliveryWorkerDeps {
  store: LevelStore;
  chain: ChainReader;
  webhooks: WebhookClient;
  metrics: ControlPlaneMetrics;
  config: WebhookConfig;
  logger: Logger;
  now: () => number;
  random?: () => number;
}

/** A batch and where the cursor goes once it is done (worker.cut). */
type Collected = { batch: Batch; end: Pos };

/**
 * How often a consortium's latest height is read again from its nodes (at most; only while some
 * subscription asks). The last height read answers at once meanwhile: under load a status round
 * trip to every node took as long as a whole batch (bench/events.ts), so no batch waits for one.
 */
export const LATEST_HEIGHT_REUSE_MS = 100;

const KINDS = ['account_txs', 'asset_movements', 'anchors', 'blocks', 'control_plane'] as const;

export class DeliveryWorker {
  /** Subscriptions being served (key cid/sid): each is served by one turn at a time, so its events stay in order. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly behind = new Map<string, { kind: string; n: number }>();
  private readonly latest = new Map<
    string,
    { atMs: number; known: number | undefined; reading?: Promise<number | undefined> | undefined }
  >();
  private rotation = 0;

  constructor(private readonly d: DeliveryWorkerDeps) {}

  /**
   * Starts a turn for every idle subscription, up to config.concurrency turns at once, and returns
   * without waiting for them: a slow receiver never holds back the others (PeriodicTask calls it).
   */
  async pass(): Promise<void> {
    const subs = await this.d.store.all<Subscription>(K.allSubscriptions());
    const present = new Set(subs.map((s) => `${s.consortiumId}/${s.id}`));
    for (const k of this.behind.keys()) if (!present.has(k)) this.behind.delete(k);
    // start from a different subscription each round so that, beyond the concurrency, none starves
    const start = subs.length > 0 ? this.rotation++ % subs.length : 0;
    for (let j = 0; j < subs.length && this.inFlight.size < this.d.config.concurrency; j++) {
      const s = subs[(start + j) % subs.length]!;
      const key = `${s.consortiumId}/${s.id}`;
      if (this.inFlight.has(key)) continue;
      const turn = this.serve(s)
        .then((n) => void this.behind.set(key, { kind: s.filter.kind, n }))
        .catch((err: unknown) =>
          this.d.logger.warn('delivery failed', { subscriptionId: s.id, error: (err as Error).message }),
        )
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, turn);
    }
    for (const kind of KINDS) {
      let max = 0;
      for (const b of this.behind.values()) if (b.kind === kind && b.n > max) max = b.n;
      this.d.metrics.webhookBacklog.set({ kind }, max);
    }
  }

  /** Resolves once every turn started so far has ended (shutdown, tests). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight.values()]);
  }

  /** The consortium's latest height: the last one read, while a fresher one is read in the background. */
  private latestOf(cid: string): Promise<number | undefined> {
    const t = performance.now();
    let e = this.latest.get(cid);
    if (!e) {
      e = { atMs: 0, known: undefined };
      this.latest.set(cid, e);
    }
    const entry = e;
    if (!entry.reading && t - entry.atMs >= LATEST_HEIGHT_REUSE_MS) {
      entry.atMs = t;
      entry.reading = this.d.chain.latestHeight(cid).then(
        // never below what was seen: a node that answers may be behind
        (h) => (entry.known = h === undefined ? entry.known : Math.max(h, entry.known ?? 0)),
        () => entry.known,
      );
      void entry.reading.finally(() => (entry.reading = undefined));
    }
    return entry.known !== undefined || !entry.reading ? Promise.resolve(entry.known) : entry.reading;
  }

  /** Serves one subscription; returns how far it is behind (blocks, or change-log entries). */
  private async serve(sub: Subscription): Promise<number> {
    const latestOf = (cid: string) => this.latestOf(cid);
    const { store, now } = this.d;
    await this.redeliver(sub);
    let cur = await store.get<SubscriptionCursor>(K.subscriptionCursor(sub.consortiumId, sub.id));
    const chainKind = sub.filter.kind !== 'control_plane';
    if (!cur) {
      let height = sub.fromHeight;
      if (chainKind && height === undefined) {
        const latest = await latestOf(sub.consortiumId);
        if (latest === undefined) return 0; // no node answers yet: start once one does
        height = latest + 1;
      }
      cur = await this.saveCursor(sub, undefined, { height: height ?? 0, index: 0, seq: sub.fromSeq ?? 0 }, {});
      if (!cur) return 0;
    }
    const behind = async () =>
      chainKind
        ? Math.max(0, ((await latestOf(sub.consortiumId)) ?? 0) + 1 - cur!.height)
        : Math.max(0, store.lastChangeSeq() - cur!.seq);
    if (cur.nextAttemptAtMs > now()) return behind();
    const maxEvents = sub.maxBatchEvents ?? WEBHOOK_BATCH_EVENTS_DEFAULT;
    const collect = (from: Pos, retryTo?: Pos) =>
      chainKind ? this.collectChain(sub, from, maxEvents, retryTo) : this.collectChanges(sub, from, maxEvents, retryTo);
    let secret: string | undefined;
    let pos: Pos = { height: cur.height, index: cur.index, seq: cur.seq };
    // The batch after the one on the wire, read meanwhile: reading from the nodes overlaps the POST.
    let ahead: Promise<Collected> | undefined;
    for (let sent = 0; sent < EVENTS_PER_PASS_MAX; ) {
      const got = await (ahead ?? collect(pos, cur.attempts > 0 ? cur.retryTo : undefined));
      ahead = undefined;
      const { batch } = got;
      if (batch.events.length === 0) {
        pos = got.end;
        break;
      }
      secret ??= (await store.get<SubscriptionSecret>(K.subscriptionSecret(sub.consortiumId, sub.id)))?.secret;
      if (secret === undefined) return 0; // deleted meanwhile
      const n = batch.events.length;
      const next = collect(got.end);
      next.catch(() => undefined); // awaited below, or dropped when this batch fails
      ahead = next;
      const res = await this.d.webhooks.post(sub.url, secret, {
        subscriptionId: sub.id,
        body: deliveryBody(batch.json),
        count: n,
      });
      if (res.ok) {
        this.d.metrics.webhookDeliveries.inc({ outcome: 'delivered' }, n);
        const t = now();
        for (const p of batch.events)
          this.d.metrics.webhookLatency.observe({ kind: sub.filter.kind }, Math.max(0, t - p.committedAtMs) / 1000);
        // one cursor write per batch, before the next POST: a crash re-sends at most this batch
        const saved = await this.saveCursor(sub, cur, got.end, { delivered: n });
        if (!saved) return 0;
        cur = saved;
        pos = got.end;
        sent += n;
        continue;
      }
      ahead = undefined;
      // The cursor stays at the batch's first event, so its attempts count across turns and restarts,
      // and retryTo keeps the retry to exactly these events.
      const at = positionOf(batch.events[0]!);
      const attempts = (samePos(at, cur) ? cur.attempts : 0) + 1;
      const error = (res.error ?? 'failed').slice(0, ERROR_KEEP_CHARS);
      if (attempts >= this.d.config.maxAttempts) {
        this.d.metrics.webhookDeliveries.inc({ outcome: 'dead_lettered' }, n);
        this.d.logger.warn('webhook events dead-lettered', {
          subscriptionId: sub.id,
          firstEventId: batch.events[0]!.event.id,
          events: n,
          attempts,
          error,
        });
        const saved = await this.saveCursor(sub, cur, got.end, {
          deadLetters: { pending: batch.events, attempts, error },
        });
        if (!saved) return 0;
        cur = saved;
        pos = got.end;
        sent += n;
        continue;
      }
      this.d.metrics.webhookDeliveries.inc({ outcome: 'failed' }, n);
      const delay = deliveryBackoffMs(attempts, this.d.config.backoffBaseMs, this.d.config.backoffMaxMs, this.d.random);
      cur =
        (await this.saveCursor(sub, cur, at, {
          failed: { attempts, error, retryAtMs: now() + delay, retryTo: got.end },
        })) ?? cur;
      return behind();
    }
    // positions scanned past without events (empty blocks, other organizations' changes)
    if (!samePos(pos, cur)) cur = (await this.saveCursor(sub, cur, pos, {})) ?? cur;
    return behind();
  }

  /**
   * The next batch of a chain subscription from `from`: blocks read a range at a time, the results
   * of all its txs looked up together, cut to maxEvents and WEBHOOK_BATCH_BYTES_MAX. `end` is where
   * the cursor goes once the batch is done (past its last event, or past the blocks scanned when the
   * batch is not full). A retry (`retryTo`) takes only the events before where the failed batch ended.
   */
  private async collectChain(sub: Subscription, from: Pos, maxEvents: number, retryTo?: Pos): Promise<Collected> {
    const cid = sub.consortiumId;
    const scan: Pos = { ...from };
    const found: { block: BlockView; index: number }[] = [];
    const latest = (await this.latestOf(cid)) ?? 0;
    const before = (h: number, i: number) =>
      !retryTo || h < retryTo.height || (h === retryTo.height && i < retryTo.index);
    let scanned = 0;
    read: while (scan.height <= latest && scanned < POSITIONS_SCANNED_PER_PASS_MAX && found.length < maxEvents) {
      const to = Math.min(latest, scan.height + BLOCK_READS_IN_FLIGHT_MAX - 1);
      for (const block of await this.d.chain.blocks(cid, scan.height, to)) {
        if (!block) break read; // no node serves it right now: retry on a later pass
        for (
          let i = nextIndexInBlock(sub, block, scan.index);
          i !== undefined;
          i = nextIndexInBlock(sub, block, i + 1)
        ) {
          if (!before(block.height, i)) {
            Object.assign(scan, retryTo); // everything before it was looked at
            break read;
          }
          found.push({ block, index: i });
          if (found.length >= maxEvents) break read;
        }
        scan.height++;
        scan.index = 0;
        scanned++;
      }
    }
    let codes: (string | undefined)[] = [];
    if (sub.filter.kind !== 'blocks' && found.length > 0) {
      // one results read per block (shared by subscriptions); a node without it: one lookup per tx
      const heights = [...new Set(found.map((f) => f.block.height))];
      const perBlock = new Map(
        await Promise.all(heights.map(async (h) => [h, await this.d.chain.blockCodes(cid, h)] as const)),
      );
      const missing = found.filter((f) => !perBlock.get(f.block.height)).map((f) => f.block.txs[f.index]!.hash);
      if (missing.length > 0) await this.d.chain.prefetchTxCodes(cid, missing);
      codes = await Promise.all(
        found.map((f) => {
          const c = perBlock.get(f.block.height)?.[f.index];
          return c !== undefined ? c : this.d.chain.txCode(cid, f.block.txs[f.index]!.hash);
        }),
      );
    }
    const pending: PendingEvent[] = [];
    let notReady: Pos | undefined;
    for (const [k, f] of found.entries()) {
      if (sub.filter.kind !== 'blocks' && codes[k] === undefined) {
        notReady = { height: f.block.height, index: f.index, seq: 0 }; // result not served yet
        break;
      }
      pending.push(chainEvent(sub, f.block, f.index, codes[k]));
    }
    return this.cut(pending, notReady, scan, maxEvents);
  }

  /** The next batch of a control_plane subscription: changes of its consortium after `from.seq` (see collectChain). */
  private async collectChanges(sub: Subscription, from: Pos, maxEvents: number, retryTo?: Pos): Promise<Collected> {
    const scan: Pos = { ...from };
    const pending: PendingEvent[] = [];
    read: for (let scanned = 0; scanned < POSITIONS_SCANNED_PER_PASS_MAX; scanned += CHANGES_PER_READ) {
      const entries = await this.d.store.after<{ seq: number; auditKey: string }>(
        K.changes(),
        K.change(scan.seq),
        CHANGES_PER_READ,
      );
      for (const e of entries) {
        if (retryTo && e.seq > retryTo.seq) break read;
        const a = await this.d.store.get<AuditEvent>(e.auditKey);
        if (a && changeMatches(sub, a)) pending.push(changeEvent(sub, e.seq, a));
        scan.seq = e.seq;
        if (pending.length >= maxEvents) break read;
      }
      if (entries.length < CHANGES_PER_READ) break;
    }
    return this.cut(pending, undefined, scan, maxEvents);
  }

  /**
   * Cuts the events found into one batch and says where the cursor goes once it is done: at the
   * first event left out (count or byte cap), at the first one not ready (its tx result not served
   * yet), past the last one when the batch is full, else at `scanned` (all before it looked at).
   */
  private cut(pending: PendingEvent[], notReady: Pos | undefined, scanned: Pos, maxEvents: number): Collected {
    const batch = takeBatch(pending, maxEvents, WEBHOOK_BATCH_BYTES_MAX);
    const n = batch.events.length;
    if (n < pending.length) return { batch, end: positionOf(pending[n]!) };
    if (notReady) return { batch, end: notReady };
    if (n >= maxEvents) return { batch, end: batch.events[n - 1]!.next };
    return { batch, end: scanned };
  }

  /**
   * Moves the cursor (and writes the dead letters) in one store batch, unless the subscription was deleted
   * meanwhile (reading its record makes a concurrent delete a version conflict, retried).
   */
  private saveCursor(
    sub: Subscription,
    prev: SubscriptionCursor | undefined,
    to: Pos,
    what: {
      delivered?: number;
      deadLetters?: { pending: PendingEvent[]; attempts: number; error: string };
      failed?: { attempts: number; error: string; retryAtMs: number; retryTo: Pos };
    },
  ): Promise<SubscriptionCursor | undefined> {
    const { store, now } = this.d;
    return store.transact(async (uow: UnitOfWork) => {
      if (!(await uow.get(K.subscription(sub.consortiumId, sub.id)))) return undefined;
      const key = K.subscriptionCursor(sub.consortiumId, sub.id);
      const current = await uow.get<SubscriptionCursor>(key);
      const base = current ?? prev;
      const next: SubscriptionCursor = {
        version: 0,
        height: to.height,
        index: to.index,
        seq: to.seq,
        attempts: what.failed?.attempts ?? 0,
        nextAttemptAtMs: what.failed?.retryAtMs ?? 0,
        ...(what.failed ? { retryTo: what.failed.retryTo } : {}),
        ...(what.failed
          ? { lastError: what.failed.error }
          : what.deadLetters
            ? { lastError: what.deadLetters.error }
            : base?.lastError
              ? { lastError: base.lastError }
              : {}),
        delivered: (base?.delivered ?? 0) + (what.delivered ?? 0),
        deadLettered: (base?.deadLettered ?? 0) + (what.deadLetters?.pending.length ?? 0),
        updatedAt: new Date(now()).toISOString(),
      };
      if (what.deadLetters) {
        const { attempts, error } = what.deadLetters;
        for (const pending of what.deadLetters.pending)
          await uow.put<DeadLetter>(K.deadLetter(sub.consortiumId, sub.id, pending.position), {
            version: 0,
            position: pending.position,
            event: pending.event,
            attempts,
            lastError: error,
            status: 'FAILED',
            failedAt: new Date(now()).toISOString(),
          });
      }
      return uow.put(key, next);
    });
  }

  /** Dead letters an operator asked to redeliver: one attempt each, removed on a 2xx. */
  private async redeliver(sub: Subscription): Promise<void> {
    const { store } = this.d;
    const asked = await store.after<{ position: string }>(
      K.redeliveries(sub.consortiumId, sub.id),
      undefined,
      REDELIVERIES_PER_PASS_MAX,
    );
    if (asked.length === 0) return;
    const secret = (await store.get<SubscriptionSecret>(K.subscriptionSecret(sub.consortiumId, sub.id)))?.secret;
    if (secret === undefined) return;
    for (const { position } of asked) {
      const key = K.deadLetter(sub.consortiumId, sub.id, position);
      const dl = await store.get<DeadLetter>(key);
      const res = dl
        ? await this.d.webhooks.post(sub.url, secret, {
            subscriptionId: sub.id,
            body: deliveryBody([JSON.stringify(dl.event)]),
            count: 1,
          })
        : undefined;
      if (res) this.d.metrics.webhookDeliveries.inc({ outcome: res.ok ? 'redelivered' : 'failed' });
      await store.transact(async (uow) => {
        await uow.del(K.redelivery(sub.consortiumId, sub.id, position));
        const cur = await uow.get<DeadLetter>(key);
        if (!cur || !res) return;
        if (res.ok) await uow.del(key);
        else
          await uow.put<DeadLetter>(key, {
            ...cur,
            status: 'FAILED',
            attempts: cur.attempts + 1,
            lastError: (res.error ?? 'failed').slice(0, ERROR_KEEP_CHARS),
            failedAt: new Date(this.d.now()).toISOString(),
          });
      });
    }
  }
}
