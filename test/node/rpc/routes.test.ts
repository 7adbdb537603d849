import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeTx,
  generateKeyPair,
  sealedGenesisToJSON,
  signTx,
  toHex,
  txHash,
  verifyMerkleProof,
  fromHex,
  type KeyPair,
} from '../../../src/chain/index.js';
import { createNodeMetrics } from '../../../src/node/metrics.js';
import { createNodeApi, encodeLengthPrefixed, type NodeApp } from '../../../src/node/rpc/index.js';
import { FakeBackend, makeSealedGenesis } from './fake-backend.js';

const LIMITS = { maxTxBytes: 2048, bodyLimitBytes: 64 * 1024, maxWaitMs: 2000, sseKeepAliveMs: 60_000 };
/** The node's admin credential (PUT /v1/genesis); see admin-auth.test.ts for the refusals. */
const ADMIN_TOKEN = 'routes-test-admin-token-0123456789abcdef';
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };

function signedTx(kp: KeyPair, nonce: number, chainId = 'test-chain'): Uint8Array {
  return encodeTx(signTx({ chainId, signer: kp.publicKey, nonce, body: { type: 'create_account' } }, kp.secretKey));
}

describe('node API routes', () => {
  const { sealed } = makeSealedGenesis();
  const backend = new FakeBackend('test-chain', sealed);
  const registry = new Registry();
  const metrics = createNodeMetrics(registry);
  let app: NodeApp;

  beforeAll(async () => {
    app = await createNodeApi({ backend, registry, limits: LIMITS, adminToken: () => ADMIN_TOKEN });
  });
  afterAll(async () => {
    await app.close();
  });

  it('GET /v1/identity and /v1/status render bytes as lowercase hex', async () => {
    const id = await app.inject({ method: 'GET', url: '/v1/identity' });
    expect(id.statusCode).toBe(200);
    expect(id.json()).toMatchObject({
      publicKey: toHex(backend.nodeKey.publicKey),
      role: 'validator',
      chainId: 'test-chain',
    });
    expect(id.json().proofOfPossession).toMatch(/^[0-9a-f]{128}$/);
    const st = await app.inject({ method: 'GET', url: '/v1/status' });
    expect(st.json()).toMatchObject({
      chainId: 'test-chain',
      height: 0,
      latestBlockHash: null,
      syncing: false,
      genesisInstalled: true,
    });
    expect(st.json().validators[0]).toEqual({
      publicKey: toHex(backend.nodeKey.publicKey),
      power: 1,
      memberId: 'org1',
    });
  });

  it('POST /v1/txs admits a valid tx with 202 and maps rejections to 4xx with error bodies', async () => {
    const kp = generateKeyPair();
    const tx = signedTx(kp, 0);
    const ok = await app.inject({ method: 'POST', url: '/v1/txs', payload: { tx: toHex(tx) } });
    expect(ok.statusCode).toBe(202);
    expect(ok.json()).toEqual({ hash: toHex(txHash(tx)), status: 'accepted' });

    const replay = await app.inject({ method: 'POST', url: '/v1/txs', payload: { tx: toHex(tx) } });
    expect(replay.statusCode).toBe(422);
    expect(replay.json().error).toMatchObject({ code: 'BAD_NONCE', details: { expected: 1, got: 0 } });

    const forged = signedTx(kp, 1);
    forged[forged.length - 1]! ^= 0xff;
    const bad = await app.inject({ method: 'POST', url: '/v1/txs', payload: { tx: toHex(forged) } });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error.code).toBe('BAD_SIGNATURE');

    const garbage = await app.inject({ method: 'POST', url: '/v1/txs', payload: { tx: 'deadbeef' } });
    expect(garbage.statusCode).toBe(400);
    expect(garbage.json().error.code).toMatch(/^CODEC_/);

    const notHex = await app.inject({ method: 'POST', url: '/v1/txs', payload: { tx: 'xyz' } });
    expect(notHex.statusCode).toBe(400);
    expect(notHex.json().error.code).toBe('INVALID_TX');

    const noField = await app.inject({ method: 'POST', url: '/v1/txs', payload: { nottx: 1 } });
    expect(noField.statusCode).toBe(400);
    expect(noField.json().error.code).toBe('INVALID_REQUEST');

    const badJson = await app.inject({
      method: 'POST',
      url: '/v1/txs',
      headers: { 'content-type': 'application/json' },
      payload: '{"tx":',
    });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json().error.code).toBe('INVALID_REQUEST');
    expect(backend.mempool).toHaveLength(1);
  });

  it('refuses an oversized tx with 413 TX_TOO_LARGE (in-limit body and over-limit body)', async () => {
    const big = 'ab'.repeat(LIMITS.maxTxBytes + 1);
    const r = await app.inject({ method: 'POST', url: '/v1/txs', payload: { tx: big } });
    expect(r.statusCode).toBe(413);
    expect(r.json().error.code).toBe('TX_TOO_LARGE');
    const huge = await app.inject({
      method: 'POST',
      url: '/v1/txs',
      payload: { tx: 'ab'.repeat(LIMITS.maxTxBytes * 4) },
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error.code).toBe('TX_TOO_LARGE');
    const batch = await app.inject({
      method: 'POST',
      url: '/v1/txs/batch',
      headers: { 'content-type': 'application/octet-stream' },
      payload: Buffer.alloc(LIMITS.bodyLimitBytes + 10),
    });
    expect(batch.statusCode).toBe(413);
    expect(batch.json().error.code).toBe('BODY_TOO_LARGE');
  });

  it('answers 429 MEMPOOL_FULL when the mempool is at its cap', async () => {
    const saved = backend.mempoolCap;
    backend.mempoolCap = backend.mempool.length;
    try {
      const r = await app.inject({
        method: 'POST',
        url: '/v1/txs',
        payload: { tx: toHex(signedTx(generateKeyPair(), 0)) },
      });
      expect(r.statusCode).toBe(429);
      expect(r.json().error).toMatchObject({
        code: 'MEMPOOL_FULL',
        details: { maxTxs: saved === 0 ? 0 : backend.mempoolCap },
      });
    } finally {
      backend.mempoolCap = saved;
    }
  });

  it('POST /v1/txs/batch accepts binary length-prefixed and JSON batches with per-item results', async () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    const good = [signedTx(a, 0), signedTx(b, 0)];
    const bin = await app.inject({
      method: 'POST',
      url: '/v1/txs/batch',
      headers: { 'content-type': 'application/octet-stream' },
      payload: Buffer.from(encodeLengthPrefixed([...good, signedTx(a, 0), new Uint8Array([1, 2, 3])])),
    });
    expect(bin.statusCode).toBe(200);
    const body = bin.json();
    expect(body.accepted).toBe(2);
    expect(body.rejected).toBe(2);
    expect(body.results[0]).toEqual({ hash: toHex(txHash(good[0]!)), status: 'accepted' });
    expect(body.results[2].error.code).toBe('BAD_NONCE');
    expect(body.results[3].error.code).toMatch(/^CODEC_/);

    const json = await app.inject({ method: 'POST', url: '/v1/txs/batch', payload: [toHex(signedTx(a, 1)), 'zz'] });
    expect(json.statusCode).toBe(200);
    expect(json.json().results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'rejected']);
    const wrapped = await app.inject({
      method: 'POST',
      url: '/v1/txs/batch',
      payload: { txs: [toHex(signedTx(b, 1))] },
    });
    expect(wrapped.json().accepted).toBe(1);

    const truncated = await app.inject({
      method: 'POST',
      url: '/v1/txs/batch',
      headers: { 'content-type': 'application/octet-stream' },
      payload: Buffer.from([0, 0, 0, 9, 1]),
    });
    expect(truncated.statusCode).toBe(400);
    expect(truncated.json().error.code).toBe('INVALID_REQUEST');
  });

  it('serves committed txs with a verifiable inclusion proof, and blocks/headers/commits by height', async () => {
    const kp = generateKeyPair();
    const tx = signedTx(kp, 0);
    await app.inject({ method: 'POST', url: '/v1/txs', payload: { tx: toHex(tx) } });
    const block = backend.commitPending();
    const height = block.header.height;

    const got = await app.inject({ method: 'GET', url: `/v1/txs/${toHex(txHash(tx))}` });
    expect(got.statusCode).toBe(200);
    const t = got.json();
    expect(t).toMatchObject({ hash: toHex(txHash(tx)), height, code: 'OK', tx: toHex(tx) });
    expect(t.decoded).toMatchObject({
      chainId: 'test-chain',
      signer: toHex(kp.publicKey),
      nonce: 0,
      body: { type: 'create_account' },
    });
    const proof = {
      index: t.proof.leafIndex,
      total: t.proof.treeSize,
      path: t.proof.path.map((p: string) => fromHex(p)),
    };
    expect(verifyMerkleProof(fromHex(t.proof.txRoot), tx, proof)).toBe(true);

    const latest = await app.inject({ method: 'GET', url: '/v1/blocks/latest' });
    expect(latest.statusCode).toBe(200);
    expect(latest.json().header.height).toBe(height);
    expect(latest.json().txs).toContain(toHex(tx));
    const byHeight = await app.inject({ method: 'GET', url: `/v1/blocks/${height}` });
    expect(byHeight.json().hash).toBe(latest.json().hash);
    const header = await app.inject({ method: 'GET', url: `/v1/blocks/${height}/header` });
    expect(header.json().hash).toBe(latest.json().hash);
    const commit = await app.inject({ method: 'GET', url: `/v1/blocks/${height}/commit` });
    expect(commit.json()).toMatchObject({ height, round: 0, blockHash: latest.json().hash });

    expect((await app.inject({ method: 'GET', url: `/v1/blocks/${height + 5}` })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/v1/blocks/0' })).json().error.code).toBe('INVALID_REQUEST');
    expect((await app.inject({ method: 'GET', url: '/v1/blocks/abc' })).statusCode).toBe(400);
    const missing = await app.inject({ method: 'GET', url: `/v1/txs/${'00'.repeat(32)}` });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('NOT_FOUND');
    expect((await app.inject({ method: 'GET', url: '/v1/txs/abc' })).statusCode).toBe(400);
  });

  it('answers 410 PRUNED with lowestHeight for pruned heights', async () => {
    backend.commitPending();
    backend.lowestHeight = 2;
    try {
      const r = await app.inject({ method: 'GET', url: '/v1/blocks/1' });
      expect(r.statusCode).toBe(410);
      expect(r.json().error).toMatchObject({ code: 'PRUNED', details: { lowestHeight: 2 } });
    } finally {
      backend.lowestHeight = 1;
    }
  });

  it('POST /v1/txs?wait=commit returns 200 committed once the block lands, 202 on timeout', async () => {
    const kp = generateKeyPair();
    const tx = signedTx(kp, 0);
    const pending = app.inject({
      method: 'POST',
      url: '/v1/txs?wait=commit&timeoutMs=1500',
      payload: { tx: toHex(tx) },
    });
    await new Promise((r) => setTimeout(r, 50));
    const block = backend.commitPending();
    const r = await pending;
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({
      hash: toHex(txHash(tx)),
      status: 'committed',
      height: block.header.height,
      index: 0,
      code: 'OK',
    });

    const t0 = Date.now();
    const slow = await app.inject({
      method: 'POST',
      url: '/v1/txs?wait=commit&timeoutMs=100',
      payload: { tx: toHex(signedTx(kp, 1)) },
    });
    expect(slow.statusCode).toBe(202);
    expect(slow.json().status).toBe('accepted');
    expect(Date.now() - t0).toBeLessThan(1500);
    expect((await app.inject({ method: 'POST', url: '/v1/txs?wait=later', payload: { tx: '00' } })).statusCode).toBe(
      400,
    );
  });

  it('serves account and asset state with proofs; unknown ones are 404', async () => {
    const kp = generateKeyPair();
    await app.inject({ method: 'POST', url: '/v1/txs', payload: { tx: toHex(signedTx(kp, 0)) } });
    const acct = await app.inject({ method: 'GET', url: `/v1/accounts/${toHex(kp.publicKey)}` });
    expect(acct.statusCode).toBe(200);
    expect(acct.json()).toMatchObject({
      account: { publicKey: toHex(kp.publicKey), nonce: 1 },
      balances: [{ asset: 'USD', amount: '12345678901234567890' }],
    });
    expect(acct.json().proof[0].key).toBe(`acct/${toHex(kp.publicKey)}`);
    expect(
      (await app.inject({ method: 'GET', url: `/v1/accounts/${toHex(generateKeyPair().publicKey)}` })).statusCode,
    ).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/v1/accounts/nothex' })).statusCode).toBe(400);
    const asset = await app.inject({ method: 'GET', url: '/v1/assets/USD' });
    expect(asset.json()).toMatchObject({ asset: { id: 'USD', supply: '5' } });
    expect((await app.inject({ method: 'GET', url: '/v1/assets/EUR' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: `/v1/anchors/${'11'.repeat(32)}` })).statusCode).toBe(404);
  });

  it('GET /v1/genesis returns the sealed genesis; PUT again is 409 GENESIS_ALREADY_SET', async () => {
    const g = await app.inject({ method: 'GET', url: '/v1/genesis' });
    expect(g.statusCode).toBe(200);
    expect(g.json().genesis.chainId).toBe('test-chain');
    expect(g.json().genesisHash).toMatch(/^[0-9a-f]{64}$/);
    const again = await app.inject({
      method: 'PUT',
      url: '/v1/genesis',
      headers: ADMIN,
      payload: sealedGenesisToJSON(sealed),
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('GENESIS_ALREADY_SET');
  });

  it('health, readiness, metrics and unknown routes', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ ready: true });
    backend.ready = false;
    const nr = await app.inject({ method: 'GET', url: '/readyz' });
    backend.ready = true;
    expect(nr.statusCode).toBe(503);
    expect(nr.json().reason).toBe('syncing');
    metrics.chainHeight.set(3);
    const m = await app.inject({ method: 'GET', url: '/metrics' });
    expect(m.statusCode).toBe(200);
    expect(m.headers['content-type']).toBe(registry.contentType);
    expect(m.body).toContain('consortia_chain_height 3');
    const nf = await app.inject({ method: 'GET', url: '/v1/nothing' });
    expect(nf.statusCode).toBe(404);
    expect(nf.json().error.code).toBe('NOT_FOUND');
  });
});

describe('node API in awaiting-genesis mode', () => {
  const backend = new FakeBackend('test-chain', null);
  let app: NodeApp;
  beforeAll(async () => {
    app = await createNodeApi({ backend, registry: new Registry(), limits: LIMITS, adminToken: () => ADMIN_TOKEN });
  });
  afterAll(async () => {
    await app.close();
  });

  it('serves identity and liveness, is not ready, and refuses chain routes with 503', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/identity' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    const tx = await app.inject({ method: 'POST', url: '/v1/txs', payload: { tx: '00' } });
    expect(tx.statusCode).toBe(503);
    expect(tx.json().error.code).toBe('AWAITING_GENESIS');
    expect((await app.inject({ method: 'GET', url: '/v1/genesis' })).statusCode).toBe(404);
  });

  it('PUT /v1/genesis rejects unsigned/tampered genesis with 400 GENESIS_* and installs a sealed one', async () => {
    const { sealed } = makeSealedGenesis();
    const unsigned = sealedGenesisToJSON({ genesis: sealed.genesis, approvals: [] });
    const r1 = await app.inject({ method: 'PUT', url: '/v1/genesis', headers: ADMIN, payload: unsigned });
    expect(r1.statusCode).toBe(400);
    expect(r1.json().error.code).toBe('GENESIS_MISSING_APPROVAL');
    const junk = await app.inject({ method: 'PUT', url: '/v1/genesis', headers: ADMIN, payload: { hello: 'world' } });
    expect(junk.statusCode).toBe(400);
    expect(backend.sealed).toBeNull();

    const ok = await app.inject({
      method: 'PUT',
      url: '/v1/genesis',
      headers: ADMIN,
      payload: sealedGenesisToJSON(sealed),
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ status: 'installed', chainId: 'test-chain' });
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });
});
