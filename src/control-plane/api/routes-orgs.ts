/** Organizations (their API tokens: routes-tokens.ts). */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ConsortiaError } from '../../lib/errors.js';
import { CpCodes } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { actorOf } from '../domain/tokens.js';
import type { Organization } from '../domain/types.js';
import { recordChange } from '../store/index.js';
import { isPlatform, principalOf, requireOrg, requirePlatformAdmin } from './auth.js';
import type { ApiContext } from './context.js';
import { mutate } from './mutate.js';
import * as S from './schemas.js';

const OrgParams = Type.Object({ orgId: Type.String() });

export function orgRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const iso = () => new Date(ctx.now()).toISOString();

  r.post(
    '/v1/organizations',
    {
      schema: {
        tags: ['organizations'],
        summary: 'Create an organization (platform-admin)',
        headers: S.IdempotencyHeaders,
        body: S.OrgCreate,
        response: { 201: S.Org, ...S.Errors },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      requirePlatformAdmin(p);
      return mutate(
        ctx,
        req,
        reply,
        201,
        async (repo) => {
          const org: Organization = {
            id: newId('org'),
            name: req.body.name,
            adminPublicKeys: [...new Set(req.body.adminPublicKeys)],
            createdAt: iso(),
            updatedAt: iso(),
            version: 0,
          };
          const saved = await repo.orgs.create(org);
          await recordChange(repo.uow, ctx.bus, ctx.now(), {
            actor: actorOf(p),
            type: 'organization.created',
            resource: `organizations/${org.id}`,
            orgIds: [org.id],
            data: saved,
          });
          return saved;
        },
        { idempotent: true },
      );
    },
  );

  r.get(
    '/v1/organizations',
    {
      schema: {
        tags: ['organizations'],
        summary: 'List organizations visible to the caller',
        querystring: S.PageQuery,
        response: { 200: S.PageOf(S.Org), ...S.Errors },
      },
    },
    async (req) => {
      const p = principalOf(req);
      if (isPlatform(p)) return ctx.q.orgs(req.query);
      const own = await ctx.q.org(p.orgId!);
      return { items: own ? [own] : [], nextCursor: null };
    },
  );

  r.get(
    '/v1/organizations/:orgId',
    {
      schema: { tags: ['organizations'], params: OrgParams, response: { 200: S.Org, ...S.Errors } },
    },
    async (req) => {
      requireOrg(principalOf(req), req.params.orgId, 'org-viewer');
      const org = await ctx.q.org(req.params.orgId);
      if (!org) throw new ConsortiaError(CpCodes.NOT_FOUND, `organization ${req.params.orgId} not found`);
      return org;
    },
  );

  r.patch(
    '/v1/organizations/:orgId',
    {
      schema: {
        tags: ['organizations'],
        summary: 'Update name / admin keys (optimistic: body.version must be current)',
        params: OrgParams,
        body: S.OrgPatch,
        response: { 200: S.Org, ...S.Errors },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      requireOrg(p, req.params.orgId, 'org-admin');
      return mutate(ctx, req, reply, 200, async (repo) => {
        const org = await repo.orgs.get(req.params.orgId);
        if (!org) throw new ConsortiaError(CpCodes.NOT_FOUND, `organization ${req.params.orgId} not found`);
        if (org.version !== req.body.version) {
          throw new ConsortiaError(
            CpCodes.VERSION_CONFLICT,
            `organization is at version ${org.version}, not ${req.body.version}`,
            { currentVersion: org.version },
          );
        }
        const next: Organization = {
          ...org,
          ...(req.body.name !== undefined ? { name: req.body.name } : {}),
          ...(req.body.adminPublicKeys !== undefined
            ? { adminPublicKeys: [...new Set(req.body.adminPublicKeys)] }
            : {}),
          updatedAt: iso(),
        };
        const saved = await repo.orgs.put(next);
        await recordChange(repo.uow, ctx.bus, ctx.now(), {
          actor: actorOf(p),
          type: 'organization.updated',
          resource: `organizations/${org.id}`,
          orgIds: [org.id],
          data: saved,
        });
        return saved;
      });
    },
  );
}
