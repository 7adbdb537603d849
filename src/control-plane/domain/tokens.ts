/**
 * API tokens: 32 random bytes shown once (prefixed for recognisability), stored only as
 * SHA-256. Role order decides what a token may do inside its organization.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ConsortiaError } from '../../lib/errors.js';
import { CpCodes } from './errors.js';
import type { ApiToken, Role } from './types.js';

export const TOKEN_PREFIX = 'csa_';

export function generateTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashToken(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Shortest lifetime a token may be given (seconds). */
export const TOKEN_TTL_MIN_SECONDS = 60;
/** Longest lifetime any token may have (seconds): the ceiling of config tokenMaxTtlSeconds and of a request's ttlSeconds. */
export const TOKEN_TTL_CEILING_SECONDS = 366 * 86_400;
/** Lifetime of a token created without ttlSeconds unless config tokenTtlSeconds says otherwise (seconds). */
export const TOKEN_TTL_DEFAULT_SECONDS = 90 * 86_400;
/** Longest time a rotated token keeps working next to its replacement (seconds). */
export const TOKEN_ROTATION_GRACE_MAX_SECONDS = 7 * 86_400;
/** lastUsedAt is rewritten at most this often per token, so authentication is not one store write per request. */
export const TOKEN_LAST_USED_RESOLUTION_MS = 60_000;

/** Token lifetimes in force (config tokenTtlSeconds / tokenMaxTtlSeconds, validated at start). */
export interface TokenPolicy {
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
}
export const DEFAULT_TOKEN_POLICY: TokenPolicy = {
  defaultTtlSeconds: TOKEN_TTL_DEFAULT_SECONDS,
  maxTtlSeconds: TOKEN_TTL_CEILING_SECONDS,
};

/** The lifetime for a new token: the requested one within the policy's maximum, else the default. */
export function tokenTtlSeconds(requested: number | undefined, policy: TokenPolicy): number {
  if (requested === undefined) return Math.min(policy.defaultTtlSeconds, policy.maxTtlSeconds);
  if (requested > policy.maxTtlSeconds || requested < TOKEN_TTL_MIN_SECONDS) {
    throw new ConsortiaError(
      CpCodes.VALIDATION_FAILED,
      `ttlSeconds must be between ${TOKEN_TTL_MIN_SECONDS} and ${policy.maxTtlSeconds}`,
      {
        field: 'ttlSeconds',
        minTtlSeconds: TOKEN_TTL_MIN_SECONDS,
        maxTtlSeconds: policy.maxTtlSeconds,
      },
    );
  }
  return requested;
}

/** When a token stops working (ms). A record from before expiry existed lives the default lifetime from its creation. */
export function tokenExpiresAtMs(t: Pick<ApiToken, 'createdAt' | 'expiresAt'>, policy: TokenPolicy): number {
  return t.expiresAt !== undefined
    ? Date.parse(t.expiresAt)
    : Date.parse(t.createdAt) + policy.defaultTtlSeconds * 1000;
}

const RANK: Record<Role, number> = { 'org-viewer': 1, 'org-operator': 2, 'org-admin': 3, 'platform-admin': 4 };

/** True when `role` is at least `min` (platform-admin satisfies every requirement). */
export function roleAtLeast(role: Role, min: Role): boolean {
  return RANK[role] >= RANK[min];
}

export interface Principal {
  tokenId: string;
  role: Role;
  /** null for platform-admin. */
  orgId: string | null;
}

export function actorOf(p: Principal): string {
  return p.orgId ? `${p.orgId}/${p.tokenId}` : `platform/${p.tokenId}`;
}
