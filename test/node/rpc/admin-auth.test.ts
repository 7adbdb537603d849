import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_PARAMS,
  fromHex,
  generateKeyPair,
  sealedGenesisToJSON,
  signGenesisApproval,
  type Genesis,
} from '../../../src/chain/index.js';
import {
  ADMIN_TOKEN_MIN_CHARS,
  SIGNED_TX_ROUTES,
  UNAUTHORIZED_METRIC,
  adminTokenFromFile,
  checkAdminAuthorization,
  isAdminRoute,
  sameSecret,
  validAdminToken,
} from '../../../src/node/rpc/admin-auth.js';
import { createNodeApi, type NodeApp } from '../../../src/node/rpc/index.js';
import { FakeBackend } from './fake-backend.js';

/**
 * The node's admin credential, attacked from outside: an outsider reads a key-generation node's
 * public identity, builds a self-consistent one-member sealed genesis around it and PUTs it.
 * Without the credential that only the node's runtime delivered, nothing changes.
 */
const LIMITS = { maxTxBytes: 2048, bodyLimitBytes: 64 * 1024, maxWaitMs: 2000, sseKeepAliveMs: 60_000 };
const TOKEN = 'tok_' + 'A1b2C3d4'.repeat(5); // 44 chars, like the control plane's

/** Every (method, path) the app serves, from fastify's route tree. */
function routesOf(app: NodeApp): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+)(?: \(([^)]*)\))?$/.exec(line.trimEnd());
    if (!m) continue;
    const depth = m[1]!.length / 4;
    const path = (depth > 0 ? stack[depth - 1]! : '') + m[2]!;
    stack[depth] = path;
    for (const method of (m[3] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean))
      out.push({ method, path });
  }
  return out;
}

/** The outsider's genesis: its own single member, the victim node as the only validator. */
function takeoverGenesis(chainId: string, id: { publicKey: string; proofOfPossession: string }): unknown {
  const mallory = generateKeyPair();
  const genesis: Genesis = {
    chainId,
    genesisTime: Date.now(),
    params: DEFAULT_PARAMS,
    members: [{ memberId: 'mallory', name: 'Mallory', adminKeys: [mallory.publicKey] }],
    validators: [
      {
        memberId: 'mallory',
        publicKey: fromHex(id.publicKey),
        power: 1,
        proofOfPossession: fromHex(id.proofOfPossession),
      },
    ],
    nodes: [{ memberId: 'mallory', publicKey: fromHex(id.publicKey), role: 'validator' }],
    accounts: [],
  };
  return sealedGenesisToJSON({
    genesis,
    approvals: [signGenesisApproval(genesis, 'mallory', mallory.secretKey, mallory.publicKey)],
  });
}

async function counter(registry: Registry, reason: string): Promise<number> {
  const m = await registry.getSingleMetric(UNAUTHORIZED_METRIC)?.get();
  return m?.values.find((v) => v.labels['reason'] === reason)?.value ?? 0;
}

describe('node admin credential', () => {
  const backend = new FakeBackend('test-chain', null);
  const registry = new Registry();
  let logs = '';
  let app: NodeApp;

  beforeAll(async () => {
    const stream = new Writable({
      write(chunk, _enc, cb) {
        logs += chunk.toString();
        cb();
      },
    });
    app = await createNodeApi({
      backend,
      registry,
      limits: LIMITS,
      adminToken: () => TOKEN,
      logger: { level: 'warn', stream },
    });
  });
  afterAll(async () => {
    await app.close();
  });

  it('every mutating route but signed-tx submission is an admin route, and refuses requests without the credential', async () => {
    const mutating = routesOf(app).filter((r) => !['GET', 'HEAD', 'OPTIONS'].includes(r.method));
    const admin = mutating.filter((r) => isAdminRoute(r.method, r.path)).map((r) => `${r.method} ${r.path}`);
    // the list as of today (grep app.put/post/patch/delete in src/node/rpc): a new mutating route joins it by default
    expect(admin.sort()).toEqual(['POST /v1/consensus-keys', 'PUT /v1/genesis']);
    expect(
      mutating
        .map((r) => `${r.method} ${r.path}`)
        .filter((r) => !admin.includes(r))
        .sort(),
    ).toEqual([...SIGNED_TX_ROUTES].sort());
    for (const r of mutating) {
      const res = await app.inject({ method: r.method as 'PUT', url: r.path.replace(/:[A-Za-z]+/g, 'x'), payload: {} });
      if (admin.includes(`${r.method} ${r.path}`)) {
        expect(res.statusCode, `${r.method} ${r.path}`).toBe(401);
        expect(res.json().error.code).toBe('UNAUTHORIZED');
      } else {
        expect(res.statusCode, `${r.method} ${r.path}`).not.toBe(401);
      }
    }
  });

  it("refuses the outsider's one-member genesis without, with a wrong and with a malformed credential; logs and counts each", async () => {
    const id = (await app.inject({ method: 'GET', url: '/v1/identity' })).json() as {
      publicKey: string;
      proofOfPossession: string;
      chainId: string;
    };
    const forged = takeoverGenesis(id.chainId, id);
    const wrongSameLength = TOKEN.slice(0, -1) + (TOKEN.endsWith('x') ? 'y' : 'x');
    const attempts: [Record<string, string>, string][] = [
      [{}, 'missing'],
      [{ authorization: `Bearer ${wrongSameLength}` }, 'invalid'],
      [{ authorization: `Bearer ${TOKEN}x` }, 'invalid'],
      [{ authorization: 'Bearer short' }, 'invalid'],
      [{ authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` }, 'malformed'],
      [{ authorization: TOKEN }, 'malformed'],
      [{ authorization: `Bearer ${TOKEN} ${TOKEN}` }, 'malformed'],
      [{ 'x-admin-token': TOKEN }, 'missing'],
    ];
    for (const [headers, reason] of attempts) {
      const before = await counter(registry, reason);
      const r = await app.inject({ method: 'PUT', url: '/v1/genesis', headers, payload: forged as object });
      expect(r.statusCode, JSON.stringify(headers)).toBe(401);
      expect(r.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String), details: { reason } } });
      expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(await counter(registry, reason)).toBe(before + 1);
    }
    expect(backend.sealed).toBeNull();
    expect((await app.inject({ method: 'GET', url: '/v1/status' })).json().genesisInstalled).toBe(false);
    const refusals = logs.split('\n').filter((l) => l.includes('admin-credential-refused'));
    expect(refusals.length).toBeGreaterThanOrEqual(attempts.length);
    expect(JSON.parse(refusals[0]!)).toMatchObject({
      level: 40,
      method: 'PUT',
      route: '/v1/genesis',
      reason: 'missing',
    });
    expect(logs).not.toContain(wrongSameLength);
    expect(logs).not.toContain(TOKEN);
  });

  it('refuses before reading the body: an unauthenticated oversized upload is 401, not 413', async () => {
    const r = await app.inject({
      method: 'PUT',
      url: '/v1/genesis',
      headers: { 'content-type': 'application/json' },
      payload: '{"x":"' + 'a'.repeat(LIMITS.bodyLimitBytes * 2) + '"}',
    });
    expect(r.statusCode).toBe(401);
  });

  it('the holder of the credential reaches the endpoint (the backend then judges the genesis)', async () => {
    const r = await app.inject({
      method: 'PUT',
      url: '/v1/genesis',
      headers: { authorization: `bearer ${TOKEN}` },
      payload: { hello: 'world' },
    });
    expect(r.statusCode).toBe(400); // past the credential: an invalid genesis
    expect(r.json().error.code).toMatch(/^GENESIS_|^CODEC_/);
  });
});

describe('a node without an admin credential configured', () => {
  it('refuses every admin request, whatever is presented', async () => {
    const registry = new Registry();
    const backend = new FakeBackend('test-chain', null);
    const app = await createNodeApi({ backend, registry, limits: LIMITS });
    try {
      for (const authorization of [undefined, 'Bearer ', `Bearer ${TOKEN}`, 'Bearer undefined']) {
        const r = await app.inject({
          method: 'PUT',
          url: '/v1/genesis',
          headers: authorization ? { authorization } : {},
          payload: {},
        });
        expect(r.statusCode).toBe(401);
        expect(r.json().error.details.reason).toBe('not_configured');
      }
      expect(backend.sealed).toBeNull();
      expect(await counter(registry, 'not_configured')).toBe(4);
    } finally {
      await app.close();
    }
  });
});

describe('admin credential helpers', () => {
  it('compare in constant time regardless of length, and accept only tokens of a usable size', () => {
    expect(sameSecret(TOKEN, TOKEN)).toBe(true);
    expect(sameSecret(TOKEN, TOKEN + 'x')).toBe(false);
    expect(sameSecret('', TOKEN)).toBe(false);
    expect(checkAdminAuthorization(`Bearer ${TOKEN}`, TOKEN)).toBeNull();
    expect(checkAdminAuthorization(`Bearer ${TOKEN}`, undefined)).toBe('not_configured');
    expect(validAdminToken('x'.repeat(ADMIN_TOKEN_MIN_CHARS - 1))).toBeUndefined();
    expect(validAdminToken(` ${'x'.repeat(ADMIN_TOKEN_MIN_CHARS)}\n`)).toBe('x'.repeat(ADMIN_TOKEN_MIN_CHARS));
    expect(validAdminToken(undefined)).toBeUndefined();
    expect(adminTokenFromFile(undefined)()).toBeUndefined();
    expect(adminTokenFromFile('/nonexistent/admin-token')()).toBeUndefined();
  });
});
