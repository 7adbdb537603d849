/**
 * Bearer-token authentication and the authorization checks every route uses.
 * Rule of thumb: a resource of an organization the caller does not belong to is 404
 * (its existence is not disclosed); a visible resource the caller's role may not change is 403.
 * Every 401/403 answered is counted and audited (auth-failures.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ConsortiaError, isConsortiaError } from '../../lib/errors.js';
import { CpCodes } from '../domain/errors.js';
import {
  actorOf,
  hashToken,
  roleAtLeast,
  tokenExpiresAtMs,
  TOKEN_LAST_USED_RESOLUTION_MS,
  type Principal,
} from '../domain/tokens.js';
import type { ApiToken, Consortium, Member, Proposal, Role } from '../domain/types.js';
import { isExpired } from '../domain/voting.js';
import { K } from '../store/index.js';
import {
  AUTH_AUDIT_WINDOW_MS,
  AuthFailureAudit,
  codeLabel,
  reasonLabel,
  type AuthFailureReason,
} from './auth-failures.js';
import type { ApiContext } from './context.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    /** The token a refused request presented, when it was identified (expired): audited by id. */
    refusedToken?: { id: string; orgId: string | null };
    /** The error this request failed with (kept for the auth-failure audit). */
    failure?: { code: string; reason?: string };
  }
  interface FastifyContextConfig {
    public?: boolean;
  }
}

const PUBLIC_PREFIXES = ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs'];

function refused(
  code: string,
  reason: AuthFailureReason,
  message: string,
  details: Record<string, unknown> = {},
): ConsortiaError {
  return new ConsortiaError(code, message, { reason, ...details });
}

export function installAuth(app: FastifyInstance, ctx: ApiContext): AuthFailureAudit {
  const audit = new AuthFailureAudit(ctx.store, ctx.now);
  app.addHook('onRequest', async (req) => {
    const path = req.url.split('?')[0] ?? '';
    if (req.routeOptions.config?.public || PUBLIC_PREFIXES.some((p) => path === p || path.startsWith(p + '/'))) return;
    const h = req.headers.authorization;
    if (h === undefined) throw refused(CpCodes.UNAUTHENTICATED, 'missing_token', 'missing bearer token');
    const m = typeof h === 'string' ? /^Bearer\s+(\S+)$/i.exec(h) : null;
    if (!m)
      throw refused(CpCodes.UNAUTHENTICATED, 'malformed_token', 'the Authorization header must be "Bearer <token>"');
    const hash = hashToken(m[1]!);
    const idx = await ctx.q.tokenByHash(hash);
    const tok = idx ? await ctx.q.token(idx.ownerId, idx.tokenId) : undefined;
    if (!tok || !idx || tok.tokenHash !== hash)
      throw refused(CpCodes.UNAUTHENTICATED, 'unknown_token', 'unknown or revoked token');
    const nowMs = ctx.now();
    const expiresAt = tokenExpiresAtMs(tok, ctx.tokens);
    if (nowMs >= expiresAt) {
      req.refusedToken = { id: tok.id, orgId: tok.orgId };
      throw refused(
        CpCodes.TOKEN_EXPIRED,
        'expired',
        `token ${tok.id} expired at ${new Date(expiresAt).toISOString()}; rotate it or create a new one`,
        {
          tokenId: tok.id,
          expiredAt: new Date(expiresAt).toISOString(),
        },
      );
    }
    req.principal = { tokenId: tok.id, role: tok.role, orgId: tok.orgId };
    if (!tok.lastUsedAt || nowMs - Date.parse(tok.lastUsedAt) >= TOKEN_LAST_USED_RESOLUTION_MS) {
      await touchToken(ctx, idx.ownerId, tok.id, nowMs).catch((err: unknown) =>
        req.log.warn({ err: (err as Error).message }, 'recording token use failed'),
      );
    }
  });
  app.addHook('onError', async (req, _reply, err) => {
    if (isConsortiaError(err))
      req.failure = {
        code: err.code,
        ...(typeof err.details?.['reason'] === 'string' ? { reason: err.details['reason'] } : {}),
      };
  });
  // onSend, not onResponse: the record exists before the client reads the refusal.
  app.addHook('onSend', async (req, reply, payload) => {
    if (reply.statusCode !== 401 && reply.statusCode !== 403) return payload;
    const code = req.failure?.code ?? (reply.statusCode === 401 ? CpCodes.UNAUTHENTICATED : CpCodes.FORBIDDEN);
    const reason = req.failure?.reason ?? defaultReason(code);
    ctx.metrics.authFailures.inc({ code: codeLabel(code), reason: reasonLabel(reason) });
    const p = req.principal;
    const token = p ? { id: p.tokenId, orgId: p.orgId } : req.refusedToken;
    await audit
      .record({
        status: reply.statusCode,
        code,
        reason,
        method: req.method,
        route: req.routeOptions.url ?? 'unmatched',
        path: req.url.split('?')[0] ?? '',
        clientIp: req.ip,
        ...(token
          ? {
              tokenId: token.id,
              orgId: token.orgId,
              actor: actorOf({ tokenId: token.id, orgId: token.orgId, role: 'org-viewer' }),
            }
          : {}),
      })
      .catch((err: unknown) =>
        req.log.error({ err: (err as Error).message }, 'writing the auth-failure audit record failed'),
      );
    return payload;
  });
  const timer = setInterval(() => void audit.flushIfDue().catch(() => undefined), AUTH_AUDIT_WINDOW_MS);
  timer.unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await audit.flush().catch(() => undefined);
  });
  return audit;
}

function defaultReason(code: string): string {
  if (code === CpCodes.NOT_A_MEMBER) return 'not_member';
  if (code === CpCodes.TOKEN_EXPIRED) return 'expired';
  return 'other';
}

/** Records the token's use (lastUsedAt); a token revoked meanwhile is not re-created. */
async function touchToken(ctx: ApiContext, ownerId: string, tokenId: string, nowMs: number): Promise<void> {
  await ctx.store.transact(async (uow) => {
    const t = await uow.get<ApiToken>(K.token(ownerId, tokenId));
    if (!t || (t.lastUsedAt && nowMs - Date.parse(t.lastUsedAt) < TOKEN_LAST_USED_RESOLUTION_MS)) return;
    await uow.put(K.token(ownerId, tokenId), { ...t, lastUsedAt: new Date(nowMs).toISOString() });
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
  if (!isPlatform(p)) throw refused(CpCodes.FORBIDDEN, 'platform_admin_required', 'requires platform-admin');
}

export function requireRole(p: Principal, min: Role): void {
  if (!roleAtLeast(p.role, min)) throw refused(CpCodes.FORBIDDEN, 'role', `requires role ${min} (token has ${p.role})`);
}

/** Caller acts for orgId (a platform token may act for any) with at least `min`; else 403 naming the action. */
export function requireActingFor(p: Principal, orgId: string, action: string, min: Role): void {
  if (!isPlatform(p) && p.orgId !== orgId)
    throw refused(CpCodes.FORBIDDEN, 'organization', `a token of ${String(p.orgId)} cannot ${action} for ${orgId}`);
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
  // Open: being voted on, or approved and waiting for its answer or its execution.
  const open = (x: Proposal) => (x.status === 'IN_PROGRESS' || x.status === 'APPROVED') && !isExpired(x, ctx.now());
  if (props.some((x) => open(x) && x.action.type === 'invite_member' && x.action.orgId === p.orgId)) return c;
  throw notFound;
}

/** Caller's org must be an active member (403 NOT_A_MEMBER) with at least `min` (403). */
export async function requireMember(ctx: ApiContext, p: Principal, cid: string, min: Role): Promise<Member | null> {
  if (isPlatform(p)) return null;
  const m = await ctx.store.get<Member>(`member/${cid}/${p.orgId}`);
  if (!m || m.status !== 'ACTIVE')
    throw refused(CpCodes.NOT_A_MEMBER, 'not_member', `organization ${String(p.orgId)} is not a member of ${cid}`);
  requireRole(p, min);
  return m;
}
