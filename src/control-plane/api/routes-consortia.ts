/** Consortia and members. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ConsortiaError } from '../../lib/errors.js';
import { CpCodes } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { actorOf } from '../domain/tokens.js';
import type { Consortium, Member } from '../domain/types.js';
import { recordChange } from '../store/index.js';
import { isPlatform, principalOf, requirePlatformAdmin, requireRole, visibleConsortium } from './auth.js';
import type { ApiContext } from './context.js';
import { mutate } from './mutate.js';
import * as S from './schemas.js';

export const CidParams = Type.Object({ cid: Type.String() });

export async function consortiumView(ctx: ApiContext, c: Consortium) {
  return { ...c, members: await ctx.q.members(c.id) };
}

export function consortiumRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const iso = () => new Date(ctx.now()).toISOString();

  r.post(
    '/v1/consortia',
    {
      schema: {
        tags: ['consortia'],
        summary: 'Create a consortium; founders become its first members',
        headers: S.IdempotencyHeaders,
        body: S.ConsortiumCreate,
        response: { 201: S.Consortium, ...S.Errors },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      requireRole(p, 'org-admin');
      const founders = [...new Set(req.body.founders)];
      if (!isPlatform(p) && !founders.includes(p.orgId!)) {
        throw new ConsortiaError(
          CpCodes.FORBIDDEN,
          'an organization can only create a consortium it founds (add your orgId to founders)',
        );
      }
      const created = await mutate(
        ctx,
        req,
        reply,
        201,
        async (repo) => {
          const orgs = [];
          for (const [i, orgId] of founders.entries()) {
            const org = await repo.orgs.get(orgId);
            if (!org)
              throw new ConsortiaError(
                CpCodes.VALIDATION_FAILED,
                `founders.${i}: organization ${orgId} does not exist`,
                { field: `founders.${i}` },
              );
            orgs.push(org);
          }
          const id = newId('cons');
          const { params, votingPolicy } = req.body;
          const c: Consortium = {
            id,
            name: req.body.name,
            chainId: `consortia-${id.slice(5)}`,
            founders,
            params: {
              blockIntervalMs: params.blockIntervalMs,
              maxBlockBytes: params.maxBlockBytes,
              maxTxBytes: params.maxTxBytes ?? Math.min(65536, params.maxBlockBytes),
              maxBlockTxs: params.maxBlockTxs ?? 10000,
            },
            votingPolicy,
            status: 'FORMING',
            createdAt: iso(),
            updatedAt: iso(),
            version: 0,
          };
          const saved = await repo.consortia.create(c);
          for (const org of orgs) {
            await repo.members.create({
              consortiumId: id,
              memberId: org.id,
              orgId: org.id,
              name: org.name,
              status: 'ACTIVE',
              joinedAt: iso(),
              version: 0,
            } satisfies Member);
            await repo.orgConsortia.create({ orgId: org.id, consortiumId: id, version: 0 });
          }
          await recordChange(repo.uow, ctx.bus, ctx.now(), {
            actor: actorOf(p),
            type: 'consortium.created',
            resource: `consortia/${id}`,
            orgIds: founders,
            data: saved,
          });
          return saved;
        },
        { idempotent: true },
      );
      return consortiumView(ctx, created);
    },
  );

  r.get(
    '/v1/consortia',
    {
      schema: {
        tags: ['consortia'],
        summary: 'Consortia the caller is a member of (all for platform-admin)',
        querystring: S.PageQuery,
        response: { 200: S.PageOf(S.Consortium), ...S.Errors },
      },
    },
    async (req) => {
      const p = principalOf(req);
      if (isPlatform(p)) {
        const page = await ctx.q.consortia(req.query);
        return { items: await Promise.all(page.items.map((c) => consortiumView(ctx, c))), nextCursor: page.nextCursor };
      }
      // Members: page over the org's membership index (bounded per org).
      const ids = (await ctx.q.orgConsortiumIds(p.orgId!)).sort();
      const start = req.query.cursor
        ? ids.findIndex((x) => x > Buffer.from(req.query.cursor!, 'base64url').toString('utf8'))
        : 0;
      const limit = req.query.limit ?? 100;
      const slice = start < 0 ? [] : ids.slice(start, start + limit);
      const items = [];
      for (const cid of slice) {
        const c = await ctx.q.consortium(cid);
        if (c) items.push(await consortiumView(ctx, c));
      }
      const more = start >= 0 && start + limit < ids.length;
      return { items, nextCursor: more ? Buffer.from(slice[slice.length - 1]!, 'utf8').toString('base64url') : null };
    },
  );

  r.get(
    '/v1/consortia/:cid',
    {
      schema: { tags: ['consortia'], params: CidParams, response: { 200: S.Consortium, ...S.Errors } },
    },
    async (req) => consortiumView(ctx, await visibleConsortium(ctx, principalOf(req), req.params.cid)),
  );

  r.get(
    '/v1/consortia/:cid/members',
    {
      schema: {
        tags: ['consortia'],
        params: CidParams,
        querystring: S.PageQuery,
        response: { 200: S.PageOf(S.Member), ...S.Errors },
      },
    },
    async (req) => {
      await visibleConsortium(ctx, principalOf(req), req.params.cid);
      return { items: await ctx.q.members(req.params.cid), nextCursor: null };
    },
  );

  r.patch(
    '/v1/consortia/:cid',
    {
      schema: {
        tags: ['consortia'],
        summary:
          "Change the consortium's node image (platform-admin): nodes roll one at a time, validators never below quorum",
        params: CidParams,
        body: S.ConsortiumUpdate,
        response: { 200: S.Consortium, ...S.Errors },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      requirePlatformAdmin(p);
      const saved = await mutate(ctx, req, reply, 200, async (repo) => {
        const c = await repo.consortia.get(req.params.cid);
        if (!c) throw new ConsortiaError(CpCodes.NOT_FOUND, `consortium ${req.params.cid} not found`);
        if (c.status === 'DELETING' || c.status === 'DELETED')
          throw new ConsortiaError(CpCodes.INVALID_STATE, `consortium ${c.id} is ${c.status}`);
        await requireImagePlacement(ctx, c.id);
        const out = await repo.consortia.put({ ...c, nodeImage: req.body.nodeImage, updatedAt: iso() });
        const orgIds = (await ctx.q.members(c.id)).map((m) => m.orgId);
        await recordChange(repo.uow, ctx.bus, ctx.now(), {
          actor: actorOf(p),
          type: 'consortium.updated',
          resource: `consortia/${c.id}`,
          orgIds,
          data: out,
        });
        return out;
      });
      ctx.kick('nodes');
      return consortiumView(ctx, saved);
    },
  );

  r.delete(
    '/v1/consortia/:cid',
    {
      schema: {
        tags: ['consortia'],
        summary:
          'Delete a consortium (platform-admin; 202): every node is deleted, then the runtime objects it shares (e.g. its Kubernetes namespace); status DELETING -> DELETED',
        params: CidParams,
        response: { 202: S.Consortium, ...S.Errors },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      requirePlatformAdmin(p);
      const saved = await mutate(ctx, req, reply, 202, async (repo) => {
        const c = await repo.consortia.get(req.params.cid);
        if (!c) throw new ConsortiaError(CpCodes.NOT_FOUND, `consortium ${req.params.cid} not found`);
        if (c.status === 'DELETING' || c.status === 'DELETED') return c;
        // Desired state only: the reconciler deletes each node, then finalizes the consortium.
        for (const n of await ctx.q.consortiumNodes(c.id)) {
          if (n.desired === 'deleted') continue;
          const fresh = await repo.nodes.get(c.id, n.id);
          if (fresh && fresh.desired !== 'deleted')
            await repo.nodes.put({
              ...fresh,
              desired: 'deleted',
              status: { ...fresh.status, phase: 'Terminating', ready: false },
            });
        }
        const out = await repo.consortia.put({ ...c, status: 'DELETING', updatedAt: iso() });
        const orgIds = (await ctx.q.members(c.id)).map((m) => m.orgId);
        await recordChange(repo.uow, ctx.bus, ctx.now(), {
          actor: actorOf(p),
          type: 'consortium.deleting',
          resource: `consortia/${c.id}`,
          orgIds,
          data: out,
        });
        return out;
      });
      ctx.kick('nodes');
      return consortiumView(ctx, saved);
    },
  );
}

/**
 * A node image means something only to nodes that run as containers: a consortium whose nodes all
 * run as local processes (they run this installation's own build) is refused rather than told
 * its image changed while nothing would.
 */
async function requireImagePlacement(ctx: ApiContext, cid: string): Promise<void> {
  const nodes = (await ctx.q.consortiumNodes(cid)).filter((n) => n.desired === 'present');
  if (nodes.length === 0) return;
  const kinds = new Set(
    await Promise.all(nodes.map(async (n) => (await ctx.q.cluster(n.clusterId))?.kind ?? 'unknown')),
  );
  if (kinds.size === 1 && kinds.has('local')) {
    throw new ConsortiaError(
      CpCodes.INVALID_STATE,
      `consortium ${cid} runs all its nodes as local processes, which run this installation's build: a node image applies only to nodes on a Kubernetes cluster`,
      {
        field: 'nodeImage',
        placement: 'local',
      },
    );
  }
}
