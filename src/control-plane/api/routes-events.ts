/** Server-sent change events and the audit log, both filtered to the caller's organization. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Principal } from '../domain/tokens.js';
import type { AuditEvent, ChangeEvent } from '../domain/types.js';
import { isPlatform, principalOf } from './auth.js';
import type { ApiContext } from './context.js';
import * as S from './schemas.js';

function visibleTo(p: Principal, orgIds: string[]): boolean {
  return isPlatform(p) || (p.orgId !== null && orgIds.includes(p.orgId));
}

export function eventRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get(
    '/v1/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Server-sent events (text/event-stream): one `change` event per committed resource change',
        response: {
          200: {
            description: 'an endless text/event-stream',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          ...S.Errors,
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(': connected\n\n');
      const send = (e: ChangeEvent) => {
        if (!visibleTo(p, e.orgIds)) return;
        res.write(
          `id: ${e.id}\nevent: change\ndata: ${JSON.stringify({ type: e.type, resource: e.resource, at: e.at, data: e.data })}\n\n`,
        );
      };
      const unsubscribe = ctx.bus.subscribe(send);
      const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
      const stop = () => {
        clearInterval(ping);
        unsubscribe();
      };
      req.raw.on('close', stop);
      res.on('close', stop);
    },
  );

  r.get(
    '/v1/audit-events',
    {
      schema: {
        tags: ['events'],
        summary: 'Audit log (oldest first)',
        querystring: S.PageQuery,
        response: { 200: S.PageOf(S.AuditEvent), ...S.Errors },
      },
    },
    async (req) => {
      const p = principalOf(req);
      if (isPlatform(p)) return ctx.q.audit(req.query);
      const limit = req.query.limit ?? 100;
      const items: AuditEvent[] = [];
      let cursor: string | null | undefined = req.query.cursor;
      // Filter while paging; bounded number of underlying pages per request.
      for (let i = 0; i < 20 && items.length < limit; i++) {
        const page = await ctx.q.audit({ limit: 500, cursor: cursor ?? null });
        for (const e of page.items) {
          if (visibleTo(p, e.orgIds)) items.push(e);
          if (items.length >= limit) {
            cursor = Buffer.from(`audit/${e.id}`, 'utf8').toString('base64url');
            return { items, nextCursor: cursor };
          }
        }
        cursor = page.nextCursor;
        if (!cursor) break;
      }
      return { items, nextCursor: cursor ?? null };
    },
  );
}
