/**
 * Every 401 and 403 the API answers is counted (consortia_api_auth_failures_total{code,reason})
 * and written to the audit log as action `auth.denied` — with the route, method, client IP and
 * the token id when the token was identified, never the secret. An attacker must not be able to
 * fill the disk through this, so it is bounded three ways:
 * - identical failures (same code, reason, client, token, method and route) within one
 *   AUTH_AUDIT_WINDOW_MS are written once, and their repeats as one record with a count when
 *   the window ends;
 * - at most AUTH_AUDIT_KEYS_PER_WINDOW_MAX distinct failures per window are kept apart; the
 *   rest fold into one overflow record per window;
 * - the store keeps at most AUTH_AUDIT_RETAINED_MAX `auth.denied` records; the oldest go first.
 */
import type { AuditEvent } from '../domain/types.js';
import { timeOrderedId } from '../domain/ids.js';
import { K, Mutex, type LevelStore } from '../store/index.js';

export const AUTH_AUDIT_WINDOW_MS = 60_000;
export const AUTH_AUDIT_KEYS_PER_WINDOW_MAX = 100;
export const AUTH_AUDIT_RETAINED_MAX = 10_000;
/** The request path is recorded up to this many characters (it is the caller's input). */
export const AUTH_AUDIT_PATH_CHARS_MAX = 200;

/** Label values of the metric: a code or reason outside these lists is counted as `other`. */
export const AUTH_FAILURE_CODES = ['UNAUTHENTICATED', 'TOKEN_EXPIRED', 'FORBIDDEN', 'NOT_A_MEMBER'] as const;
export const AUTH_FAILURE_REASONS = [
  'missing_token',
  'malformed_token',
  'unknown_token',
  'expired',
  'platform_admin_required',
  'role',
  'organization',
  'not_member',
] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

export interface AuthFailure {
  status: number;
  code: string;
  reason: string;
  method: string;
  /** The route pattern ('unmatched' when no route matched): bounded, unlike the path. */
  route: string;
  path: string;
  clientIp: string;
  tokenId?: string;
  orgId?: string | null;
  actor?: string;
}

export function codeLabel(code: string): string {
  return (AUTH_FAILURE_CODES as readonly string[]).includes(code) ? code : 'other';
}
export function reasonLabel(reason: string): string {
  return (AUTH_FAILURE_REASONS as readonly string[]).includes(reason) ? reason : 'other';
}

interface Pending {
  failure: AuthFailure;
  repeats: number;
}

export class AuthFailureAudit {
  private windowStart: number;
  private readonly pending = new Map<string, Pending>();
  private overflow: { sample: AuthFailure; count: number } | null = null;
  private retained: number | undefined;
  private readonly writes = new Mutex();

  private readonly keysMax: number;
  private readonly retainedMax: number;

  /** `limits` defaults to the constants above (tests pass small ones to reach the bounds quickly). */
  constructor(
    private readonly store: LevelStore,
    private readonly now: () => number,
    limits: { keysPerWindowMax?: number; retainedMax?: number } = {},
  ) {
    this.windowStart = now();
    this.keysMax = limits.keysPerWindowMax ?? AUTH_AUDIT_KEYS_PER_WINDOW_MAX;
    this.retainedMax = limits.retainedMax ?? AUTH_AUDIT_RETAINED_MAX;
  }

  /** Records one failure (the first of its kind in the window is written now; repeats are counted). */
  async record(f: AuthFailure): Promise<void> {
    await this.flushIfDue();
    const key = [f.code, f.reason, f.clientIp, f.tokenId ?? '-', f.method, f.route].join('\u0000');
    const seen = this.pending.get(key);
    if (seen) {
      seen.repeats++;
      return;
    }
    if (this.pending.size >= this.keysMax) {
      if (this.overflow) this.overflow.count++;
      else this.overflow = { sample: f, count: 1 };
      return;
    }
    this.pending.set(key, { failure: f, repeats: 0 });
    await this.write(f, {});
  }

  /** Writes the counts of the ended window (called on a timer, at the next failure, and on close). */
  async flushIfDue(): Promise<void> {
    if (this.now() - this.windowStart >= AUTH_AUDIT_WINDOW_MS) await this.flush();
  }

  async flush(): Promise<void> {
    const from = new Date(this.windowStart).toISOString();
    const to = new Date(this.now()).toISOString();
    const repeated = [...this.pending.values()].filter((p) => p.repeats > 0);
    const overflow = this.overflow;
    this.pending.clear();
    this.overflow = null;
    this.windowStart = this.now();
    for (const p of repeated) await this.write(p.failure, { repeats: p.repeats, windowFrom: from, windowTo: to });
    if (overflow)
      await this.write(overflow.sample, { overflow: true, count: overflow.count, windowFrom: from, windowTo: to });
  }

  private async write(f: AuthFailure, extra: Record<string, unknown>): Promise<void> {
    await this.writes.run(async () => {
      const nowMs = this.now();
      const id = timeOrderedId(nowMs);
      const event: AuditEvent = {
        id,
        at: new Date(nowMs).toISOString(),
        actor: f.actor ?? 'anonymous',
        action: 'auth.denied',
        resource: f.path.slice(0, AUTH_AUDIT_PATH_CHARS_MAX),
        orgIds: f.orgId ? [f.orgId] : [],
        details: {
          status: f.status,
          code: f.code,
          reason: f.reason,
          method: f.method,
          route: f.route,
          clientIp: f.clientIp,
          ...(f.tokenId ? { tokenId: f.tokenId } : {}),
          ...extra,
        },
      };
      this.retained ??= (await this.store.all(K.authFailures())).length;
      await this.store.transact(async (uow) => {
        await uow.append(K.audit(id), event as unknown as Record<string, unknown>);
        await uow.append(K.authFailure(id), { id });
      });
      this.retained++;
      if (this.retained > this.retainedMax) {
        const oldest = await this.store.list<{ id: string }>(K.authFailures(), {
          limit: this.retained - this.retainedMax,
        });
        await this.store.transact(async (uow) => {
          for (const o of oldest.items) {
            await uow.del(K.audit(o.id));
            await uow.del(K.authFailure(o.id));
          }
        });
        this.retained -= oldest.items.length;
      }
    });
  }
}
