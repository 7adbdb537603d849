/**
 * First-start state: the default `local` cluster and the first platform-admin token. The
 * token secret is returned ONLY when it was generated now (the caller prints it once);
 * a configured bootstrapToken is hashed and never echoed. Bootstrap tokens expire like any
 * other (policy.defaultTtlSeconds) and are rotated through /v1/platform/tokens.
 */
import {
  DEFAULT_TOKEN_POLICY,
  generateTokenSecret,
  hashToken,
  tokenTtlSeconds,
  type TokenPolicy,
} from '../domain/tokens.js';
import type { ApiToken, Cluster } from '../domain/types.js';
import { K, repositories, type LevelStore } from '../store/index.js';

/** How long the previous configured bootstrap token keeps working after a new one is configured (seconds). */
export const BOOTSTRAP_ROTATION_GRACE_SECONDS = 3600;

export async function ensureBootstrap(
  store: LevelStore,
  opts: { bootstrapToken?: string; now: () => number; tokens?: TokenPolicy },
): Promise<{ generatedToken?: string }> {
  const policy = opts.tokens ?? DEFAULT_TOKEN_POLICY;
  return store.transact(async (uow) => {
    const repo = repositories(uow);
    const nowMs = opts.now();
    const at = new Date(nowMs).toISOString();
    if (!(await repo.clusters.get('local'))) {
      await repo.clusters.create({
        id: 'local',
        name: 'local',
        kind: 'local',
        inCluster: false,
        status: 'Ready',
        createdAt: at,
        version: 0,
      } satisfies Cluster);
    }
    const marker = await uow.get<{ version: number }>(K.meta('bootstrapped'));
    await giveLegacyTokensAnExpiry(store, repo, nowMs, policy);
    if (marker) {
      // A configured token never added before is added, and the earlier bootstrap tokens end after a
      // grace period (operators rotate it this way). One already added is not added again: revoking or
      // rotating it through the API is final even though it stays in the configuration.
      const hash = opts.bootstrapToken ? hashToken(opts.bootstrapToken) : undefined;
      if (hash && !(await uow.get(K.bootstrapHash(hash))) && !(await repo.tokenIndex.get(hash))) {
        const graceEnd = new Date(nowMs + BOOTSTRAP_ROTATION_GRACE_SECONDS * 1000).toISOString();
        for (const t of await store.all<ApiToken>(K.tokens('_platform'))) {
          if (t.name !== 'bootstrap' || (t.expiresAt !== undefined && t.expiresAt <= graceEnd)) continue;
          const cur = await repo.tokens.get('_platform', t.id);
          if (cur) await repo.tokens.put({ ...cur, expiresAt: graceEnd });
        }
        await addPlatformToken(repo, opts.bootstrapToken!, nowMs, policy);
      }
      return {};
    }
    const secret = opts.bootstrapToken ?? generateTokenSecret();
    await addPlatformToken(repo, secret, nowMs, policy);
    await uow.put(K.meta('bootstrapped'), { version: 0, at });
    return opts.bootstrapToken ? {} : { generatedToken: secret };
  });
}

/**
 * Tokens stored before tokens expired carry no expiresAt: they get a full default lifetime from this
 * start, so an upgrade never locks out an administrator whose token is older than that lifetime.
 */
async function giveLegacyTokensAnExpiry(
  store: LevelStore,
  repo: ReturnType<typeof repositories>,
  nowMs: number,
  policy: TokenPolicy,
): Promise<void> {
  const expiresAt = new Date(nowMs + tokenTtlSeconds(undefined, policy) * 1000).toISOString();
  for (const t of await store.all<ApiToken>(K.allTokens)) {
    if (t.expiresAt !== undefined) continue;
    const cur = await repo.tokens.get(t.orgId ?? '_platform', t.id);
    if (cur && cur.expiresAt === undefined) await repo.tokens.put({ ...cur, expiresAt });
  }
}

async function addPlatformToken(
  repo: ReturnType<typeof repositories>,
  secret: string,
  nowMs: number,
  policy: TokenPolicy,
): Promise<void> {
  const hash = hashToken(secret);
  const id = `tok_bootstrap_${hash.slice(0, 8)}`;
  const tok: ApiToken = {
    id,
    orgId: null,
    name: 'bootstrap',
    role: 'platform-admin',
    tokenHash: hash,
    createdAt: new Date(nowMs).toISOString(),
    expiresAt: new Date(nowMs + tokenTtlSeconds(undefined, policy) * 1000).toISOString(),
    version: 0,
  };
  await repo.tokens.put(tok);
  await repo.tokenIndex.put({ version: 0, hash, tokenId: id, ownerId: '_platform' });
  await repo.uow.put(K.bootstrapHash(hash), { version: 0, at: tok.createdAt });
}
