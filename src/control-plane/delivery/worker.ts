/**
 * The delivery worker: for each subscription, in order, the next event after its durable cursor is
 * POSTed to the receiver; the cursor moves only after a 2xx (or once the event is dead-lettered),
 * in the same store batch as the dead letter. A crash between a 2xx and the cursor write re-sends
 * that one event (CURSOR_SAVE_EVERY_EVENTS): delivery is at-least-once, receivers dedupe by event id.
 */
import type { Logger } from '../../lib/logging.js';
import type { AuditEvent } from '../domain/types.js';
import type { ControlPlaneMetrics } from '../metrics.js';
import { K, type LevelStore, type UnitOfWork } from '../store/index.js';
import { deliveryBackoffMs } from './backoff.js';
import type { ChainReader } from './chain-reader.js';
import type { WebhookConfig } from './config.js';
import { chainEvent, changeEvent, changeMatches, nextIndexInBlock } from './events.js';
import type { DeadLetter, PendingEvent, Subscription, SubscriptionCursor, SubscriptionSecret } from './types.js';
import type { WebhookClient } from './webhook-client.js';

/** Events one subscription gets per turn before it goes back in line. */
export const EVENTS_PER_PASS_MAX = 200;
/** Empty blocks / unrelated changes skipped per turn for one subscription. */
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

type Pos = { height: number; index: number; seq: number };

/** How long a consortium's latest height, read from its nodes, is reused by the subscriptions of one round. */
export const LATEST_HEIGHT_REUSE_MS = 50;
/**
 * A cursor write after at most this many delivered events (and whenever a turn ends or an attempt
 * fails). 1: a crash re-sends only the event whose 2xx was not yet recorded, so a receiver never
 * sees an older event after a newer one; more would trade that for fewer store writes.
 */
export const CURSOR_SAVE_EVERY_EVENTS = 1;

const KINDS = ['account_txs', 'asset_movements', 'anchors', 'blocks', 'control_plane'] as const;

export class DeliveryWorker {
  /** Subscriptions being served (key cid/sid): each is served by one turn at a time, so its events stay in order. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly behind = new Map<string, { kind: string; n: number }>();
  private readonly latest = new Map<string, { atMs: number; height: Promise<number | undefined> }>();
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

  private latestOf(cid: string): Promise<number | undefined> {
    const t = performance.now();
    const hit = this.latest.get(cid);
    if (hit && t - hit.atMs < LATEST_HEIGHT_REUSE_MS) return hit.height;
    const height = this.d.chain.latestHeight(cid);
    this.latest.set(cid, { atMs: t, height });
    return height;
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
    let secret: string | undefined;
    // Delivered but not yet written: the cursor is saved every CURSOR_SAVE_EVERY_EVENTS and at the end of the turn.
    let pos: Pos = { height: cur.height, index: cur.index, seq: cur.seq };
    let unsaved = 0;
    const flush = async (): Promise<boolean> => {
      if (unsaved === 0 && pos.height === cur!.height && pos.index === cur!.index && pos.seq === cur!.seq) return true;
      const saved = await this.saveCursor(sub, cur, pos, { delivered: unsaved });
      if (!saved) return false;
      cur = saved;
      unsaved = 0;
      return true;
    };
    for (let n = 0; n < EVENTS_PER_PASS_MAX; n++) {
      const next = chainKind ? await this.nextChainEvent(sub, pos, latestOf) : await this.nextChange(sub, pos);
      pos = next.pos;
      const pending = next.pending;
      if (!pending) break;
      secret ??= (await store.get<SubscriptionSecret>(K.subscriptionSecret(sub.consortiumId, sub.id)))?.secret;
      if (secret === undefined) return 0; // deleted meanwhile
      const res = await this.d.webhooks.post(sub.url, secret, pending.event);
      if (res.ok) {
        this.d.metrics.webhookDeliveries.inc({ outcome: 'delivered' });
        this.d.metrics.webhookLatency.observe(
          { kind: sub.filter.kind },
          Math.max(0, now() - pending.committedAtMs) / 1000,
        );
        pos = pending.next;
        unsaved++;
        if (unsaved >= CURSOR_SAVE_EVERY_EVENTS && !(await flush())) return 0;
        continue;
      }
      // The cursor goes to the failing event itself, so its attempts count across turns and restarts.
      const at: Pos =
        pending.event.kind === 'control_plane'
          ? { height: 0, index: 0, seq: pending.next.seq - 1 }
          : { height: pending.event.height!, index: pending.event.index!, seq: 0 };
      const same = at.height === cur.height && at.index === cur.index && at.seq === cur.seq;
      const attempts = (same ? cur.attempts : 0) + 1;
      const error = (res.error ?? 'failed').slice(0, ERROR_KEEP_CHARS);
      if (attempts >= this.d.config.maxAttempts) {
        this.d.metrics.webhookDeliveries.inc({ outcome: 'dead_lettered' });
        this.d.logger.warn('webhook event dead-lettered', {
          subscriptionId: sub.id,
          eventId: pending.event.id,
          attempts,
          error,
        });
        const saved = await this.saveCursor(sub, cur, pending.next, {
          delivered: unsaved,
          deadLetter: { pending, attempts, error },
        });
        if (!saved) return 0;
        cur = saved;
        unsaved = 0;
        pos = pending.next;
        continue;
      }
      this.d.metrics.webhookDeliveries.inc({ outcome: 'failed' });
      const delay = deliveryBackoffMs(attempts, this.d.config.backoffBaseMs, this.d.config.backoffMaxMs, this.d.random);
      cur =
        (await this.saveCursor(sub, cur, at, {
          delivered: unsaved,
          failed: { attempts, error, retryAtMs: now() + delay },
        })) ?? cur;
      return behind();
    }
    if (!(await flush())) return 0;
    return behind();
  }

  /** The next event of a chain subscription at or after `cur`, and the position scanned to. */
  private async nextChainEvent(
    sub: Subscription,
    cur: Pos,
    latestOf: (cid: string) => Promise<number | undefined>,
  ): Promise<{ pending?: PendingEvent; pos: Pos }> {
    const pos = { height: cur.height, index: cur.index, seq: cur.seq };
    const latest = (await latestOf(sub.consortiumId)) ?? 0;
    for (let scanned = 0; scanned < POSITIONS_SCANNED_PER_PASS_MAX && pos.height <= latest; scanned++) {
      const block = await this.d.chain.block(sub.consortiumId, pos.height);
      if (!block) break; // no node serves it right now: retry on a later pass
      const i = nextIndexInBlock(sub, block, pos.index);
      if (i === undefined) {
        pos.height++;
        pos.index = 0;
        continue;
      }
      let code: string | undefined;
      if (sub.filter.kind !== 'blocks') {
        // the results of this block's other matching txs come in the same round of lookups
        const hashes: string[] = [];
        for (let j: number | undefined = i; j !== undefined; j = nextIndexInBlock(sub, block, j + 1))
          hashes.push(block.txs[j]!.hash);
        await this.d.chain.prefetchTxCodes(sub.consortiumId, hashes);
        code = await this.d.chain.txCode(sub.consortiumId, block.txs[i]!.hash);
        if (code === undefined) break;
      }
      return { pending: chainEvent(sub, block, i, code), pos };
    }
    return { pos };
  }

  /** The next control-plane change of this subscription's consortium after `cur.seq`. */
  private async nextChange(sub: Subscription, cur: Pos): Promise<{ pending?: PendingEvent; pos: Pos }> {
    const pos = { ...cur };
    for (let scanned = 0; scanned < POSITIONS_SCANNED_PER_PASS_MAX; scanned += CHANGES_PER_READ) {
      const entries = await this.d.store.after<{ seq: number; auditKey: string }>(
        K.changes(),
        K.change(pos.seq),
        CHANGES_PER_READ,
      );
      for (const e of entries) {
        const a = await this.d.store.get<AuditEvent>(e.auditKey);
        if (a && changeMatches(sub, a)) return { pending: changeEvent(sub, e.seq, a), pos };
        pos.seq = e.seq;
      }
      if (entries.length < CHANGES_PER_READ) break;
    }
    return { pos };
  }

  /**
   * Moves the cursor (and writes a dead letter) in one batch, unless the subscription was deleted
   * meanwhile (reading its record makes a concurrent delete a version conflict, retried).
   */
  private saveCursor(
    sub: Subscription,
    prev: SubscriptionCursor | undefined,
    to: Pos,
    what: {
      delivered?: number;
      deadLetter?: { pending: PendingEvent; attempts: number; error: string };
      failed?: { attempts: number; error: string; retryAtMs: number };
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
        ...(what.failed
          ? { lastError: what.failed.error }
          : what.deadLetter
            ? { lastError: what.deadLetter.error }
            : base?.lastError
              ? { lastError: base.lastError }
              : {}),
        delivered: (base?.delivered ?? 0) + (what.delivered ?? 0),
        deadLettered: (base?.deadLettered ?? 0) + (what.deadLetter ? 1 : 0),
        updatedAt: new Date(now()).toISOString(),
      };
      if (what.deadLetter) {
        const { pending, attempts, error } = what.deadLetter;
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
      const res = dl ? await this.d.webhooks.post(sub.url, secret, dl.event) : undefined;
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
