/**
 * Webhook subscriptions of an organization in a consortium (delivery/ does the delivering):
 * create (the signing secret is returned once), list, show (with the delivery cursor), delete, and
 * the dead-letter list with redeliver / acknowledge (docs/control-plane.md#event-delivery).
 */
import { isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ConsortiaError } from '../../lib/errors.js';
import { WEBHOOK_BATCH_EVENTS_DEFAULT } from '../delivery/config.js';
import { positionOfEventId } from '../delivery/events.js';
import { generateSubscriptionSecret } from '../../lib/webhook-signature.js';
import type { DeadLetter, Subscription, SubscriptionCursor, SubscriptionFilter } from '../delivery/types.js';
import { CpCodes } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { actorOf, type Principal } from '../domain/tokens.js';
import { K, recordChange } from '../store/index.js';
import { isPlatform, principalOf, requireMember, visibleConsortium } from './auth.js';
import type { ApiContext } from './context.js';
import { mutate } from './mutate.js';
import * as S from './schemas.js';

const CidParams = Type.Object({ cid: Type.String() });
const SubParams = Type.Object({ cid: Type.String(), sid: Type.String() });
const DeadLetterParams = Type.Object({
  cid: Type.String(),
  sid: Type.String(),
  eventId: Type.String({ maxLength: 64 }),
});
/** Subscriptions one organization may hold in one consortium (each costs the worker reads per pass). */
export const SUBSCRIPTIONS_PER_ORG_MAX = 50;

export interface SubscriptionRouteOptions {
  /** Config webhooks.allowHttpLoopback: accept http:// URLs on a loopback host (dev, tests). */
  allowHttpLoopback: boolean;
}

const invalid = (field: string, message: string) =>
  new ConsortiaError(CpCodes.VALIDATION_FAILED, `${field}: ${message}`, { field, problems: [{ field, message }] });

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
}

export function checkWebhookUrl(raw: string, allowHttpLoopback: boolean): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw invalid('url', 'is not an absolute URL');
  }
  if (u.username || u.password)
    throw invalid('url', 'must not carry credentials (the HMAC signature authenticates deliveries)');
  if (u.hash) throw invalid('url', 'must not have a #fragment');
  if (u.protocol === 'https:') return u.toString();
  if (u.protocol === 'http:' && allowHttpLoopback && isLoopback(u.hostname)) return u.toString();
  throw invalid('url', allowHttpLoopback ? 'must be https:// (http:// only on a loopback host)' : 'must be https://');
}

export function checkFilter(f: SubscriptionFilter, fromHeight: number | undefined): SubscriptionFilter {
  const needs = { account_txs: 'account', asset_movements: 'asset' } as const;
  const need = needs[f.kind as keyof typeof needs];
  if (need && f[need] === undefined) throw invalid(`filter.${need}`, `is required for kind ${f.kind}`);
  const allowed = new Set<string>(
    f.kind === 'account_txs' || f.kind === 'anchors' ? ['account'] : f.kind === 'asset_movements' ? ['asset'] : [],
  );
  for (const k of ['account', 'asset'] as const)
    if (f[k] !== undefined && !allowed.has(k)) throw invalid(`filter.${k}`, `does not apply to kind ${f.kind}`);
  if (fromHeight !== undefined && f.kind === 'control_plane')
    throw invalid('fromHeight', 'does not apply to kind control_plane');
  return f;
}

function view(s: Subscription, c: SubscriptionCursor | undefined) {
  return {
    id: s.id,
    consortiumId: s.consortiumId,
    orgId: s.orgId,
    url: s.url,
    filter: s.filter,
    status: s.status,
    ...(s.fromHeight !== undefined ? { fromHeight: s.fromHeight } : {}),
    maxBatchEvents: s.maxBatchEvents ?? WEBHOOK_BATCH_EVENTS_DEFAULT,
    createdAt: s.createdAt,
    cursor: c
      ? {
          height: c.height,
          index: c.index,
          seq: c.seq,
          attempts: c.attempts,
          nextAttemptAt: c.nextAttemptAtMs > 0 ? new Date(c.nextAttemptAtMs).toISOString() : null,
          lastError: c.lastError ?? null,
          delivered: c.delivered,
          deadLettered: c.deadLettered,
          updatedAt: c.updatedAt,
        }
      : null,
  };
}

const deadLetterView = (d: DeadLetter) => ({
  id: d.event.id,
  event: d.event as unknown as Record<string, unknown>,
  attempts: d.attempts,
  lastError: d.lastError,
  status: d.status,
  failedAt: d.failedAt,
});

export function subscriptionRoutes(app: FastifyInstance, ctx: ApiContext, opts: SubscriptionRouteOptions): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const notFound = (sid: string) => new ConsortiaError(CpCodes.NOT_FOUND, `subscription ${sid} not found`);

  /** The subscription if the caller may see it: its own organization's (or any, for a platform admin). */
  async function visible(p: Principal, cid: string, sid: string): Promise<Subscription> {
    await visibleConsortium(ctx, p, cid);
    await requireMember(ctx, p, cid, 'org-viewer');
    const s = await ctx.store.get<Subscription>(K.subscription(cid, sid));
    if (!s || (!isPlatform(p) && s.orgId !== p.orgId)) throw notFound(sid);
    return s;
  }

  r.post(
    '/v1/consortia/:cid/subscriptions',
    {
      schema: {
        tags: ['subscriptions'],
        summary:
          'Subscribe a webhook to chain or control-plane events (org-operator of a member); the signing secret is returned once',
        params: CidParams,
        headers: S.IdempotencyHeaders,
        body: S.SubscriptionCreate,
        response: { 201: S.SubscriptionCreated, ...S.Errors },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const c = await visibleConsortium(ctx, p, req.params.cid);
      if (isPlatform(p) || !p.orgId)
        throw new ConsortiaError(
          CpCodes.FORBIDDEN,
          'subscriptions belong to an organization: use an organization token',
          { reason: 'organization' },
        );
      await requireMember(ctx, p, c.id, 'org-operator');
      const orgId = p.orgId;
      const url = checkWebhookUrl(req.body.url, opts.allowHttpLoopback);
      const filter = checkFilter(req.body.filter as SubscriptionFilter, req.body.fromHeight);
      return mutate(
        ctx,
        req,
        reply,
        201,
        async (repo) => {
          const mine = (await ctx.store.all<Subscription>(K.subscriptions(c.id))).filter((s) => s.orgId === orgId);
          if (mine.length >= SUBSCRIPTIONS_PER_ORG_MAX) {
            throw new ConsortiaError(
              CpCodes.INVALID_STATE,
              `organization ${orgId} has ${mine.length} subscriptions in ${c.id}, the most allowed; delete one first`,
              { limit: SUBSCRIPTIONS_PER_ORG_MAX },
            );
          }
          const secret = generateSubscriptionSecret();
          const nowMs = ctx.now();
          const sub: Subscription = {
            version: 0,
            id: newId('sub'),
            consortiumId: c.id,
            orgId,
            url,
            filter: {
              kind: filter.kind,
              ...(filter.account ? { account: filter.account } : {}),
              ...(filter.asset ? { asset: filter.asset } : {}),
            },
            status: 'ACTIVE',
            ...(req.body.fromHeight !== undefined ? { fromHeight: req.body.fromHeight } : {}),
            ...(filter.kind === 'control_plane' ? { fromSeq: ctx.store.lastChangeSeq() } : {}),
            maxBatchEvents: req.body.maxBatchEvents ?? WEBHOOK_BATCH_EVENTS_DEFAULT,
            createdAt: new Date(nowMs).toISOString(),
          };
          const saved = await repo.uow.create(K.subscription(c.id, sub.id), sub);
          await repo.uow.create(K.subscriptionSecret(c.id, sub.id), { version: 0, secret });
          const out = view(saved, undefined);
          await recordChange(repo.uow, ctx.bus, nowMs, {
            actor: actorOf(p),
            type: 'subscription.created',
            resource: `consortia/${c.id}/subscriptions/${sub.id}`,
            orgIds: [orgId],
            data: out,
          });
          return { ...out, secret };
        },
        { idempotent: true },
      );
    },
  );

  r.get(
    '/v1/consortia/:cid/subscriptions',
    {
      schema: {
        tags: ['subscriptions'],
        summary: "The caller's organization's subscriptions in this consortium (all of them for a platform admin)",
        params: CidParams,
        querystring: S.PageQuery,
        response: { 200: S.PageOf(S.Subscription), ...S.Errors },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const c = await visibleConsortium(ctx, p, req.params.cid);
      await requireMember(ctx, p, c.id, 'org-viewer');
      const all = (await ctx.store.all<Subscription>(K.subscriptions(c.id))).filter(
        (s) => isPlatform(p) || s.orgId === p.orgId,
      );
      const limit = req.query.limit ?? 100;
      const after = req.query.cursor ? Buffer.from(req.query.cursor, 'base64url').toString('utf8') : '';
      const page = all.filter((s) => s.id > after).slice(0, limit);
      const items = await Promise.all(
        page.map(async (s) => view(s, await ctx.store.get<SubscriptionCursor>(K.subscriptionCursor(c.id, s.id)))),
      );
      const last = page[page.length - 1];
      return {
        items,
        nextCursor: last && all.some((s) => s.id > last.id) ? Buffer.from(last.id, 'utf8').toString('base64url') : null,
      };
    },
  );

  r.get(
    '/v1/consortia/:cid/subscriptions/:sid',
    {
      schema: {
        tags: ['subscriptions'],
        summary: 'One subscription with its delivery cursor',
        params: SubParams,
        response: { 200: S.Subscription, ...S.Errors },
      },
    },
    async (req) => {
      const s = await visible(principalOf(req), req.params.cid, req.params.sid);
      return view(s, await ctx.store.get<SubscriptionCursor>(K.subscriptionCursor(s.consortiumId, s.id)));
    },
  );

  r.delete(
    '/v1/consortia/:cid/subscriptions/:sid',
    {
      schema: {
        tags: ['subscriptions'],
        summary: 'Delete a subscription, its cursor and its dead letters (org-operator)',
        params: SubParams,
        response: { 204: Type.Null(), ...S.Errors },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const s = await visible(p, req.params.cid, req.params.sid);
      await requireMember(ctx, p, s.consortiumId, 'org-operator');
      await mutate(ctx, req, reply, 204, async (repo) => {
        if (!(await repo.uow.get(K.subscription(s.consortiumId, s.id)))) throw notFound(s.id);
        await repo.uow.del(K.subscription(s.consortiumId, s.id));
        await repo.uow.del(K.subscriptionSecret(s.consortiumId, s.id));
        // the worker writes the cursor with every dead letter: a dead letter added after this listing
        // makes the cursor's version stale, and the whole delete is retried with a fresh listing
        await repo.uow.del(K.subscriptionCursor(s.consortiumId, s.id));
        for (const d of await ctx.store.all<DeadLetter>(K.deadLetters(s.consortiumId, s.id))) {
          await repo.uow.del(K.deadLetter(s.consortiumId, s.id, d.position));
          if (d.status === 'REDELIVERING') await repo.uow.del(K.redelivery(s.consortiumId, s.id, d.position));
        }
        await recordChange(repo.uow, ctx.bus, ctx.now(), {
          actor: actorOf(p),
          type: 'subscription.deleted',
          resource: `consortia/${s.consortiumId}/subscriptions/${s.id}`,
          orgIds: [s.orgId],
          data: { id: s.id },
        });
      });
      return null;
    },
  );

  r.get(
    '/v1/consortia/:cid/subscriptions/:sid/dead-letters',
    {
      schema: {
        tags: ['subscriptions'],
        summary: 'Events given up on after the configured attempts (oldest first)',
        params: SubParams,
        querystring: S.PageQuery,
        response: { 200: S.PageOf(S.DeadLetter), ...S.Errors },
      },
    },
    async (req) => {
      const s = await visible(principalOf(req), req.params.cid, req.params.sid);
      const page = await ctx.store.list<DeadLetter>(K.deadLetters(s.consortiumId, s.id), req.query);
      return { items: page.items.map(deadLetterView), nextCursor: page.nextCursor };
    },
  );

  const deadLetterKey = (s: Subscription, eventId: string) => {
    const pos = positionOfEventId(eventId);
    if (!pos) throw new ConsortiaError(CpCodes.NOT_FOUND, `dead letter ${eventId} not found`);
    return K.deadLetter(s.consortiumId, s.id, pos);
  };

  r.post(
    '/v1/consortia/:cid/subscriptions/:sid/dead-letters/:eventId/redeliver',
    {
      schema: {
        tags: ['subscriptions'],
        summary:
          'Try a dead letter again (once; removed from the list on a 2xx). Out of band: it does not hold back newer events',
        params: DeadLetterParams,
        response: { 202: S.DeadLetter, ...S.Errors },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const s = await visible(p, req.params.cid, req.params.sid);
      await requireMember(ctx, p, s.consortiumId, 'org-operator');
      const key = deadLetterKey(s, req.params.eventId);
      return mutate(ctx, req, reply, 202, async (repo) => {
        const d = await repo.uow.get<DeadLetter>(key);
        if (!d || d.event.id !== req.params.eventId)
          throw new ConsortiaError(CpCodes.NOT_FOUND, `dead letter ${req.params.eventId} not found`);
        if (d.status !== 'REDELIVERING')
          await repo.uow.create(K.redelivery(s.consortiumId, s.id, d.position), { version: 0, position: d.position });
        return deadLetterView(await repo.uow.put<DeadLetter>(key, { ...d, status: 'REDELIVERING' }));
      });
    },
  );

  r.delete(
    '/v1/consortia/:cid/subscriptions/:sid/dead-letters/:eventId',
    {
      schema: {
        tags: ['subscriptions'],
        summary: 'Acknowledge (remove) a dead letter',
        params: DeadLetterParams,
        response: { 204: Type.Null(), ...S.Errors },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const s = await visible(p, req.params.cid, req.params.sid);
      await requireMember(ctx, p, s.consortiumId, 'org-operator');
      const key = deadLetterKey(s, req.params.eventId);
      await mutate(ctx, req, reply, 204, async (repo) => {
        const d = await repo.uow.get<DeadLetter>(key);
        if (!d || d.event.id !== req.params.eventId)
          throw new ConsortiaError(CpCodes.NOT_FOUND, `dead letter ${req.params.eventId} not found`);
        await repo.uow.del(key);
        if (d.status === 'REDELIVERING') await repo.uow.del(K.redelivery(s.consortiumId, s.id, d.position));
      });
      return null;
    },
  );
}
