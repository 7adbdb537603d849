/**
 * API tokens: 32 random bytes shown once (prefixed for recognisability), stored only as
 * SHA-256. Role order decides what a token may do inside its organization.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Role } from './types.js';

export const TOKEN_PREFIX = 'csa_';

export function generateTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashToken(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
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
