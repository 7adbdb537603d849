/**
 * First-start state: the default `local` cluster and the first platform-admin token. The
 * token secret is returned ONLY when it was generated now (the caller prints it once);
 * a configured bootstrapToken is hashed and never echoed.
 */
import { generateTokenSecret, hashToken } from '../domain/tokens.js';
import type { ApiToken, Cluster } from '../domain/types.js';
import { K, repositories, type LevelStore } from '../store/index.js';

export async function ensureBootstrap(store: LevelStore, opts: { bootstrapToken?: string; now: () => number }): Promise<{ generatedToken?: string }> {
  return store.transact(async (uow) => {
    const repo = repositories(uow);
    const at = new Date(opts.now()).toISOString();
    if (!(await repo.clusters.get('local'))) {
      await repo.clusters.create({ id: 'local', name: 'local', kind: 'local', inCluster: false, status: 'Ready', createdAt: at, version: 0 } satisfies Cluster);
    }
    const marker = await uow.get<{ version: number }>(K.meta('bootstrapped'));
    if (marker) {
      // A configured token that changed since first start is added (operators rotate it this way).
      if (opts.bootstrapToken && !(await repo.tokenIndex.get(hashToken(opts.bootstrapToken)))) addPlatformToken(repo, opts.bootstrapToken, at);
      return {};
    }
    const secret = opts.bootstrapToken ?? generateTokenSecret();
    await addPlatformToken(repo, secret, at);
    await uow.put(K.meta('bootstrapped'), { version: 0, at });
    return opts.bootstrapToken ? {} : { generatedToken: secret };
  });
}

async function addPlatformToken(repo: ReturnType<typeof repositories>, secret: string, at: string): Promise<void> {
  const hash = hashToken(secret);
  const id = `tok_bootstrap_${hash.slice(0, 8)}`;
  const tok: ApiToken = { id, orgId: null, name: 'bootstrap', role: 'platform-admin', tokenHash: hash, createdAt: at, version: 0 };
  await repo.tokens.put(tok);
  await repo.tokenIndex.put({ version: 0, hash, tokenId: id, ownerId: '_platform' });
}
