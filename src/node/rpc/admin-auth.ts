import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Counter, type Registry } from 'prom-client';
import { ConsortiaError } from '../../lib/errors.js';
import type { NodeApp } from './context.js';
import { NodeApiCodes } from './errors.js';

/**
 * The node's admin credential. No request changes a node's state without it, except submitting a
 * transaction, which carries its own Ed25519 signature that the chain verifies. The credential is
 * a per-node token that the control plane generates, keeps sealed in its store and hands to the
 * node through its runtime only (local: a 0600 file beside the node's config; kubernetes: a
 * Secret mounted read-only into the pod). Its file is named by `adminTokenFile` in the node config.
 *
 * The rule is by method, not by route list: every route whose method is not GET/HEAD/OPTIONS is
 * an admin route unless it is one of SIGNED_TX_ROUTES, so a mutating route added later is
 * protected without anyone remembering to. Checked in onRequest, before the body is read.
 * A refusal is 401 UNAUTHORIZED (details.reason: missing | malformed | invalid | not_configured),
 * logged without the presented value, and counted in consortia_node_api_unauthorized_total{reason}.
 */

/** Shortest token a node accepts as its credential; the control plane issues 43 characters (32 random bytes, base64url). */
export const ADMIN_TOKEN_MIN_CHARS = 32;
/** Longest token file content a node reads (anything longer is not a token). */
export const ADMIN_TOKEN_MAX_CHARS = 1024;

/** Mutating routes open to anyone: each request carries signed txs, verified by the chain before they change anything. */
export const SIGNED_TX_ROUTES: ReadonlySet<string> = new Set(['POST /v1/txs', 'POST /v1/txs/batch']);
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

export const UNAUTHORIZED_METRIC = 'consortia_node_api_unauthorized_total';

export type AdminRefusal = 'missing' | 'malformed' | 'invalid' | 'not_configured';

/** Where the node's current admin token comes from; undefined means none is configured (every admin request is refused). */
export type AdminTokenSource = () => string | undefined;

/** True when `method route` needs the admin credential. */
export function isAdminRoute(method: string, route: string): boolean {
  return !SAFE_METHODS.has(method.toUpperCase()) && !SIGNED_TX_ROUTES.has(`${method.toUpperCase()} ${route}`);
}

/** A usable token, or undefined (absent, too short or too long). */
export function validAdminToken(text: string | undefined): string | undefined {
  const t = text?.trim();
  return t !== undefined && t.length >= ADMIN_TOKEN_MIN_CHARS && t.length <= ADMIN_TOKEN_MAX_CHARS ? t : undefined;
}

/**
 * Reads the token file on every admin request (they are rare), so a token the runtime rewrites
 * (a re-issued Secret) takes effect without a restart. An absent or unusable file disables the
 * admin endpoints (fail closed).
 */
export function adminTokenFromFile(file: string | undefined): AdminTokenSource {
  if (file === undefined) return () => undefined;
  return () => {
    try {
      return validAdminToken(readFileSync(file, 'utf8'));
    } catch {
      return undefined;
    }
  };
}

/** Constant-time equality of two secrets of any length (both hashed first, so not even the length leaks). */
export function sameSecret(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** Why `authorization` does not prove the admin credential, or null when it does. */
export function checkAdminAuthorization(
  authorization: string | undefined,
  expected: string | undefined,
): AdminRefusal | null {
  if (expected === undefined) return 'not_configured';
  if (authorization === undefined || authorization.trim() === '') return 'missing';
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
  if (!m) return 'malformed';
  return sameSecret(m[1]!, expected) ? null : 'invalid';
}

function unauthorizedCounter(registry: Registry): Counter<'reason'> {
  const existing = registry.getSingleMetric(UNAUTHORIZED_METRIC);
  if (existing) return existing as Counter<'reason'>;
  return new Counter({
    name: UNAUTHORIZED_METRIC,
    help: 'Node API requests to admin (mutating) endpoints refused for a missing or wrong admin credential, by reason',
    labelNames: ['reason'],
    registers: [registry],
  });
}

const MESSAGES: Record<AdminRefusal, string> = {
  missing: 'this endpoint needs the node admin credential (Authorization: Bearer <token>)',
  malformed: 'Authorization must be "Bearer <token>"',
  invalid: 'the admin credential is not valid for this node',
  not_configured:
    'this node has no admin credential configured (adminTokenFile): its admin endpoints refuse every request',
};

/** Installs the admin check on every admin route (see isAdminRoute). Call after the rate limit, before routes. */
export function installAdminAuth(
  app: NodeApp,
  opts: { adminToken?: AdminTokenSource | undefined; registry: Registry },
): void {
  const source = opts.adminToken ?? (() => undefined);
  const refused = unauthorizedCounter(opts.registry);
  app.addHook('onRequest', async (req, reply) => {
    const route = req.routeOptions.url;
    if (route === undefined || !isAdminRoute(req.method, route)) return; // unknown routes answer 404 and change nothing
    const reason = checkAdminAuthorization(req.headers.authorization, source());
    if (reason === null) return;
    refused.inc({ reason });
    // Never the header itself: a near-miss could be a real token sent to the wrong node.
    req.log.warn(
      { event: 'admin-credential-refused', method: req.method, route, client: req.ip, reason },
      'admin credential refused',
    );
    void reply.header('www-authenticate', 'Bearer realm="consortia-node"');
    throw new ConsortiaError(NodeApiCodes.UNAUTHORIZED, MESSAGES[reason], { reason });
  });
}
