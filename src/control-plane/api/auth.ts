/**
 * Bearer-token authentication and the authorization checks every route uses.
 * Rule of thumb: a resource of an organization the caller does not belong to is 404
 * (its existence is not disclosed); a visible resource the caller's role may not change is 403.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ConsortiaError } from '../../lib/errors.js';
import { CpCodes } from '../domain/errors.js';
import { hashToken, roleAtLeast, type Principal } from '../domain/tokens.js';
import type { Consortium, Member, Role } from '../domain/types.js';
import type { ApiContext } from './context.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    public?: boolean;
  }
}

const PUBLIC_PREFIXES = ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs'];

export function installAuth(app: FastifyInstance, ctx: ApiContext): void {
  app.addHook('onRequest', async (req) => {
    const path = req.url.split('?')[0] ?? '';
    if (req.routeOptions.config?.public || PUBLIC_PREFIXES.some((p) => path === p || path.startsWith(p + '/'))) return;
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer\s+(\S+)$/i.exec(h) : null;
    if (!m) throw new ConsortiaError(CpCodes.UNAUTHENTICATED, 'missing bearer token');
    const idx = await ctx.q.tokenByHash(hashToken(m[1]!));
    const tok = idx ? await ctx.q.token(idx.ownerId, idx.tokenId) : undefined;
    if (!tok) throw new ConsortiaError(CpCodes.UNAUTHENTICATED, 'unknown or revoked token');
    req.principal = { tokenId: tok.id, role: tok.role, orgId: tok.orgId };
  });
}

export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new ConsortiaError(CpCodes.UNAUTHENTICATED, 'not authenticated');
  return req.principal;
}

export function isPlatform(p: Principal): boolean {
  return p.role === 'platform-admin';
}

export function requirePlatformAdmin(p: Principal): void {
  if (!isPlatform(p)) throw new ConsortiaError(CpCodes.FORBIDDEN, 'requires platform-admin');
}

export function requireRole(p: Principal, min: Role): void {
  if (!roleAtLeast(p.role, min)) throw new ConsortiaError(CpCodes.FORBIDDEN, `requires role ${min} (token has ${p.role})`);
}

/** Caller acts for orgId (a platform token may act for any) with at least `min`; else 403 naming the action. */
export function requireActingFor(p: Principal, orgId: string, action: string, min: Role): void {
  if (!isPlatform(p) && p.orgId !== orgId) throw new ConsortiaError(CpCodes.FORBIDDEN, `a token of ${String(p.orgId)} cannot ${action} for ${orgId}`);
  requireRole(p, min);
}

/** Caller must belong to orgId (else 404) with at least `min` (else 403). */
export function requireOrg(p: Principal, orgId: string, min: Role): void {
  if (isPlatform(p)) return;
  if (p.orgId !== orgId) throw new ConsortiaError(CpCodes.NOT_FOUND, `organization ${orgId} not found`);
  requireRole(p, min);
}

/**
 * A consortium is visible to platform-admin, to its active members, and to an organization
 * with an open invitation (it must see what it is invited to). Anything else: 404.
 */
export async function visibleConsortium(ctx: ApiContext, p: Principal, cid: string): Promise<Consortium> {
  const c = await ctx.q.consortium(cid);
  const notFound = new ConsortiaError(CpCodes.NOT_FOUND, `consortium ${cid} not found`);
  if (!c) throw notFound;
  if (isPlatform(p)) return c;
  const m = await ctx.store.get<Member>(`member/${cid}/${p.orgId}`);
  if (m && m.status === 'ACTIVE') return c;
  const props = await ctx.q.allProposals(cid);
  if (props.some((x) => x.status === 'IN_PROGRESS' && x.action.type === 'invite_member' && x.action.orgId === p.orgId)) return c;
  throw notFound;
}

/** Caller's org must be an active member (403 NOT_A_MEMBER) with at least `min` (403). */
export async function requireMember(ctx: ApiContext, p: Principal, cid: string, min: Role): Promise<Member | null> {
  if (isPlatform(p)) return null;
  const m = await ctx.store.get<Member>(`member/${cid}/${p.orgId}`);
  if (!m || m.status !== 'ACTIVE') throw new ConsortiaError(CpCodes.NOT_A_MEMBER, `organization ${String(p.orgId)} is not a member of ${cid}`);
  requireRole(p, min);
  return m;
}
