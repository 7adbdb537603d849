/**
 * API tokens: an organization's (/v1/organizations/{orgId}/tokens) and the platform-admin ones
 * (/v1/platform/tokens, the bootstrap token among them). Each has an expiry; rotation issues a
 * new secret with the same name and role and lets the old one live on for a grace period (or
 * revokes it at once). Secrets are shown once and stored only as SHA-256 (domain/tokens.ts);
 * listings carry metadata only.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ConsortiaError } from '../../lib/errors.js';
import { CpCodes } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import {
  actorOf,
  generateTokenSecret,
  hashToken,
  tokenExpiresAtMs,
  tokenTtlSeconds,
  type Principal,
  type TokenPolicy,
} from '../domain/tokens.js';
import type { ApiToken, Role } from '../domain/types.js';
import { K, recordChange, type Repositories } from '../store/index.js';
import { principalOf, requireOrg, requirePlatformAdmin } from './auth.js';
import type { ApiContext } from './context.js';
import { mutate } from './mutate.js';
import * as S from './schemas.js';

const PLATFORM_OWNER = '_platform';
const OrgParams = Type.Object({ orgId: Type.String() });
const OrgTokenParams = Type.Object({ orgId: Type.String(), tokenId: Type.String() });
const PlatformTokenParams = Type.Object({ tokenId: Type.String() });

/** What the API shows of a token: metadata, never the secret or its hash. */
export function tokenView(t: ApiToken, policy: TokenPolicy, nowMs: number) {
  const expiresAtMs = tokenExpiresAtMs(t, policy);
  return {
    id: t.id,
    orgId: t.orgId,
    name: t.name,
    role: t.role,
    createdAt: t.createdAt,
    expiresAt: new Date(expiresAtMs).toISOString(),
    expired: nowMs >= expiresAtMs,
    lastUsedAt: t.lastUsedAt ?? null,
    ...(t.replacedBy ? { replacedBy: t.replacedBy } : {}),
    ...(t.rotatedFrom ? { rotatedFrom: t.rotatedFrom } : {}),
  };
}

interface Owner {
  /** Store owner key: the org id, or PLATFORM_OWNER. */
  ownerId: string;
  orgId: string | null;
  /** API path prefix of the owner's tokens, for audit resources. */
  resource: string;
}

const notFound = (id: string) => new ConsortiaError(CpCodes.NOT_FOUND, `token ${id} not found`);

export function tokenRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const orgOwner = (orgId: string): Owner => ({ ownerId: orgId, orgId, resource: `organizations/${orgId}/tokens` });
  const platformOwner: Owner = { ownerId: PLATFORM_OWNER, orgId: null, resource: 'platform/tokens' };
  const view = (t: ApiToken) => tokenView(t, ctx.tokens, ctx.now());
  const expired = (t: ApiToken) => ctx.now() >= tokenExpiresAtMs(t, ctx.tokens);

  /** Stages a new token of `owner` and its hash index; returns it with the secret. */
  async function issue(
    repo: Repositories,
    owner: Owner,
    name: string,
    role: Role,
    ttl: number | undefined,
    rotatedFrom?: string,
  ) {
    const nowMs = ctx.now();
    const secret = generateTokenSecret();
    const hash = hashToken(secret);
    const tok: ApiToken = {
      id: newId('tok'),
      orgId: owner.orgId,
      name,
      role,
      tokenHash: hash,
      createdAt: new Date(nowMs).toISOString(),
      expiresAt: new Date(nowMs + tokenTtlSeconds(ttl, ctx.tokens) * 1000).toISOString(),
      version: 0,
      ...(rotatedFrom ? { rotatedFrom } : {}),
    };
    const saved = await repo.tokens.create(tok);
    await repo.tokenIndex.create({ version: 0, hash, tokenId: tok.id, ownerId: owner.ownerId });
    return { saved, secret };
  }

  async function revoke(repo: Repositories, tok: ApiToken, ownerId: string): Promise<void> {
    await repo.tokens.del(ownerId, tok.id);
    await repo.tokenIndex.del(tok.tokenHash);
  }

  /** Platform tokens must not all go: refusing the revocation that would leave none valid avoids a lock-out. */
  async function requireAnotherPlatformToken(exceptId: string): Promise<void> {
    const others = (await ctx.store.all<ApiToken>(K.tokens(PLATFORM_OWNER))).filter(
      (t) => t.id !== exceptId && !expired(t),
    );
    if (others.length === 0) {
      throw new ConsortiaError(
        CpCodes.INVALID_STATE,
        `token ${exceptId} is the last valid platform-admin token; create or rotate to another one first`,
      );
    }
  }

  const create =
    (owner: Owner, p: Principal, name: string, role: Role, ttl: number | undefined) => async (repo: Repositories) => {
      if (owner.orgId && !(await repo.orgs.get(owner.orgId)))
        throw new ConsortiaError(CpCodes.NOT_FOUND, `organization ${owner.orgId} not found`);
      const { saved, secret } = await issue(repo, owner, name, role, ttl);
      await recordChange(repo.uow, ctx.bus, ctx.now(), {
        actor: actorOf(p),
        type: 'token.created',
        resource: `${owner.resource}/${saved.id}`,
        orgIds: owner.orgId ? [owner.orgId] : [],
        data: { id: saved.id, name: saved.name, role: saved.role, expiresAt: saved.expiresAt },
      });
      return { ...view(saved), token: secret };
    };

  const remove = (owner: Owner, p: Principal, tokenId: string) => async (repo: Repositories) => {
    const tok = await repo.tokens.get(owner.ownerId, tokenId);
    if (!tok) throw notFound(tokenId);
    if (!owner.orgId) await requireAnotherPlatformToken(tok.id);
    await revoke(repo, tok, owner.ownerId);
    await recordChange(repo.uow, ctx.bus, ctx.now(), {
      actor: actorOf(p),
      type: 'token.revoked',
      resource: `${owner.resource}/${tok.id}`,
      orgIds: owner.orgId ? [owner.orgId] : [],
      data: { id: tok.id },
    });
  };

  const rotate =
    (owner: Owner, p: Principal, tokenId: string, body: { gracePeriodSeconds?: number; ttlSeconds?: number }) =>
    async (repo: Repositories) => {
      const old = await repo.tokens.get(owner.ownerId, tokenId);
      if (!old) throw notFound(tokenId);
      if (old.replacedBy)
        throw new ConsortiaError(
          CpCodes.INVALID_STATE,
          `token ${old.id} was already rotated to ${old.replacedBy}; rotate that one`,
          { replacedBy: old.replacedBy },
        );
      const { saved, secret } = await issue(repo, owner, old.name, old.role, body.ttlSeconds, old.id);
      const grace = body.gracePeriodSeconds ?? 0;
      const nowMs = ctx.now();
      let graceUntil: string | null = null;
      if (grace === 0 || expired(old)) await revoke(repo, old, owner.ownerId);
      else {
        graceUntil = new Date(Math.min(tokenExpiresAtMs(old, ctx.tokens), nowMs + grace * 1000)).toISOString();
        await repo.tokens.put({ ...old, replacedBy: saved.id, expiresAt: graceUntil });
      }
      await recordChange(repo.uow, ctx.bus, nowMs, {
        actor: actorOf(p),
        type: 'token.rotated',
        resource: `${owner.resource}/${old.id}`,
        orgIds: owner.orgId ? [owner.orgId] : [],
        data: {
          id: saved.id,
          rotatedFrom: old.id,
          name: saved.name,
          role: saved.role,
          expiresAt: saved.expiresAt,
          oldTokenValidUntil: graceUntil,
        },
      });
      return { ...view(saved), token: secret };
    };

  /** An org-admin manages its organization's tokens; any token may read, rotate or revoke itself. */
  const authorizeOrgToken = (p: Principal, orgId: string, tokenId: string | null) => {
    if (tokenId !== null && p.orgId === orgId && p.tokenId === tokenId) return;
    requireOrg(p, orgId, 'org-admin');
  };

  // ---- the caller's own token
  r.get(
    '/v1/tokens/self',
    {
      schema: {
        tags: ['tokens'],
        summary: 'The token this request is authenticated with (metadata only)',
        response: { 200: S.Token, ...S.Errors },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const tok = await ctx.q.token(p.orgId ?? PLATFORM_OWNER, p.tokenId);
      if (!tok) throw notFound(p.tokenId);
      return view(tok);
    },
  );

  // ---- organization tokens
  r.post(
    '/v1/organizations/:orgId/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Create an API token (org-admin); the secret is returned once',
        params: OrgParams,
        headers: S.IdempotencyHeaders,
        body: S.TokenCreate,
        response: { 201: S.TokenCreated, ...S.Errors },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      requireOrg(p, req.params.orgId, 'org-admin');
      return mutate(
        ctx,
        req,
        reply,
        201,
        create(orgOwner(req.params.orgId), p, req.body.name, req.body.role, req.body.ttlSeconds),
        { idempotent: true },
      );
    },
  );

  r.get(
    '/v1/organizations/:orgId/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: "List the organization's tokens (metadata, never secrets)",
        params: OrgParams,
        querystring: S.PageQuery,
        response: { 200: S.PageOf(S.Token), ...S.Errors },
      },
    },
    async (req) => {
      requireOrg(principalOf(req), req.params.orgId, 'org-admin');
      const page = await ctx.q.tokens(req.params.orgId, req.query);
      return { items: page.items.map(view), nextCursor: page.nextCursor };
    },
  );

  r.get(
    '/v1/organizations/:orgId/tokens/:tokenId',
    {
      schema: {
        tags: ['tokens'],
        summary: "One token's metadata (org-admin, or the token itself)",
        params: OrgTokenParams,
        response: { 200: S.Token, ...S.Errors },
      },
    },
    async (req) => {
      authorizeOrgToken(principalOf(req), req.params.orgId, req.params.tokenId);
      const tok = await ctx.q.token(req.params.orgId, req.params.tokenId);
      if (!tok) throw notFound(req.params.tokenId);
      return view(tok);
    },
  );

  r.delete(
    '/v1/organizations/:orgId/tokens/:tokenId',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Revoke a token (org-admin, or the token itself)',
        params: OrgTokenParams,
        response: { 204: Type.Null(), ...S.Errors },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      authorizeOrgToken(p, req.params.orgId, req.params.tokenId);
      await mutate(ctx, req, reply, 204, remove(orgOwner(req.params.orgId), p, req.params.tokenId));
      return null;
    },
  );

  r.post(
    '/v1/organizations/:orgId/tokens/:tokenId/rotate',
    {
      schema: {
        tags: ['tokens'],
        summary:
          'Rotate a token (org-admin, or the token itself): a new secret with the same name and role, returned once; the old token is revoked, or ends after gracePeriodSeconds',
        params: OrgTokenParams,
        headers: S.IdempotencyHeaders,
        body: S.TokenRotate,
        response: { 201: S.TokenCreated, ...S.Errors },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      authorizeOrgToken(p, req.params.orgId, req.params.tokenId);
      return mutate(ctx, req, reply, 201, rotate(orgOwner(req.params.orgId), p, req.params.tokenId, req.body), {
        idempotent: true,
      });
    },
  );

  // ---- platform-admin tokens
  r.post(
    '/v1/platform/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Create a platform-admin token (platform-admin); the secret is returned once',
        headers: S.IdempotencyHeaders,
        body: S.PlatformTokenCreate,
        response: { 201: S.TokenCreated, ...S.Errors },
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
        create(platformOwner, p, req.body.name, 'platform-admin', req.body.ttlSeconds),
        { idempotent: true },
      );
    },
  );

  r.get(
    '/v1/platform/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: 'List the platform-admin tokens (metadata, never secrets)',
        querystring: S.PageQuery,
        response: { 200: S.PageOf(S.Token), ...S.Errors },
      },
    },
    async (req) => {
      requirePlatformAdmin(principalOf(req));
      const page = await ctx.q.tokens(PLATFORM_OWNER, req.query);
      return { items: page.items.map(view), nextCursor: page.nextCursor };
    },
  );

  r.get(
    '/v1/platform/tokens/:tokenId',
    {
      schema: {
        tags: ['tokens'],
        summary: "One platform-admin token's metadata",
        params: PlatformTokenParams,
        response: { 200: S.Token, ...S.Errors },
      },
    },
    async (req) => {
      requirePlatformAdmin(principalOf(req));
      const tok = await ctx.q.token(PLATFORM_OWNER, req.params.tokenId);
      if (!tok) throw notFound(req.params.tokenId);
      return view(tok);
    },
  );

  r.delete(
    '/v1/platform/tokens/:tokenId',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Revoke a platform-admin token (409 INVALID_STATE if it is the last valid one)',
        params: PlatformTokenParams,
        response: { 204: Type.Null(), ...S.Errors },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      requirePlatformAdmin(p);
      await mutate(ctx, req, reply, 204, remove(platformOwner, p, req.params.tokenId));
      return null;
    },
  );

  r.post(
    '/v1/platform/tokens/:tokenId/rotate',
    {
      schema: {
        tags: ['tokens'],
        summary:
          'Rotate a platform-admin token (the bootstrap one too): a new secret returned once; the old one is revoked, or ends after gracePeriodSeconds',
        params: PlatformTokenParams,
        headers: S.IdempotencyHeaders,
        body: S.TokenRotate,
        response: { 201: S.TokenCreated, ...S.Errors },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      requirePlatformAdmin(p);
      return mutate(ctx, req, reply, 201, rotate(platformOwner, p, req.params.tokenId, req.body), { idempotent: true });
    },
  );
}
