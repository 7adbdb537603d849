/** Shared fixtures: a real level store in a temp dir, the fastify app via inject, orgs with Ed25519 admin keys. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import {
  generateKeyPair,
  signDomain,
  toHex,
  governanceVotePayload,
  fromHex,
  type KeyPair,
} from '../../src/chain/index.js';
import { ensureBootstrap } from '../../src/control-plane/api/bootstrap.js';
import type { ApiContext } from '../../src/control-plane/api/context.js';
import type { TokenPolicy } from '../../src/control-plane/domain/tokens.js';
import { buildServer } from '../../src/control-plane/server.js';
import { LevelStore } from '../../src/control-plane/store/index.js';

export interface Harness {
  app: FastifyInstance;
  ctx: ApiContext;
  store: LevelStore;
  dir: string;
  admin: string;
  clock: { ms: number };
  close(): Promise<void>;
}

export async function startHarness(
  opts: { encryptionKey?: Buffer; kicks?: string[]; tokens?: TokenPolicy } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'cp-test-'));
  const store = new LevelStore(join(dir, 'store'));
  await store.open();
  const clock = { ms: Date.parse('2026-01-01T00:00:00Z') };
  const now = () => clock.ms;
  const { generatedToken } = await ensureBootstrap(store, { now, ...(opts.tokens ? { tokens: opts.tokens } : {}) });
  const { app, ctx } = await buildServer({
    store,
    now,
    ...(opts.tokens ? { tokens: opts.tokens } : {}),
    ...(opts.encryptionKey ? { encryptionKey: opts.encryptionKey } : {}),
    kick: (w) => opts.kicks?.push(w),
  });
  return {
    app,
    ctx,
    store,
    dir,
    admin: generatedToken!,
    clock,
    async close() {
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function call(
  h: Harness,
  method: string,
  url: string,
  token?: string,
  payload?: unknown,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return h.app.inject({
    method: method as 'GET',
    url,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
}

export interface OrgFixture {
  id: string;
  name: string;
  key: KeyPair;
  adminToken: string;
  operatorToken: string;
  viewerToken: string;
}

export async function createOrg(h: Harness, name: string): Promise<OrgFixture> {
  const key = generateKeyPair();
  const r = await call(h, 'POST', '/v1/organizations', h.admin, { name, adminPublicKeys: [toHex(key.publicKey)] });
  if (r.statusCode !== 201) throw new Error(`create org: ${r.statusCode} ${r.body}`);
  const id = r.json().id as string;
  const tok = async (role: string) => {
    const t = await call(h, 'POST', `/v1/organizations/${id}/tokens`, h.admin, { name: role, role });
    if (t.statusCode !== 201) throw new Error(`create token: ${t.body}`);
    return t.json().token as string;
  };
  return {
    id,
    name,
    key,
    adminToken: await tok('org-admin'),
    operatorToken: await tok('org-operator'),
    viewerToken: await tok('org-viewer'),
  };
}

export const defaultPolicy = {
  thresholdPercentage: 50,
  thresholdComparator: 'GREATER_THAN',
  proposalDurationSeconds: 3600,
};

export async function createConsortium(
  h: Harness,
  by: OrgFixture,
  founders: string[],
  policy: object = defaultPolicy,
): Promise<{ id: string; chainId: string }> {
  const r = await call(h, 'POST', '/v1/consortia', by.adminToken, {
    name: 'c1',
    founders,
    params: { blockIntervalMs: 500, maxBlockBytes: 1048576 },
    votingPolicy: policy,
  });
  if (r.statusCode !== 201) throw new Error(`create consortium: ${r.statusCode} ${r.body}`);
  return { id: r.json().id, chainId: r.json().chainId };
}

export function signVote(org: OrgFixture, chainId: string, proposalId: string, actionHash: string, vote: 'YES' | 'NO') {
  const sig = signDomain(
    'consortia/gov-vote/v1',
    org.key.secretKey,
    governanceVotePayload(chainId, proposalId, fromHex(actionHash, 32), vote),
  );
  return { memberId: org.id, vote, adminKey: toHex(org.key.publicKey), signature: toHex(sig) };
}
