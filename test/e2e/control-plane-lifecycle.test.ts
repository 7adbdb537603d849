/**
 * Whole life of a consortium over REST with real processes: two organizations -> consortium ->
 * four validators -> key ceremony -> finalized blocks -> a committed transfer -> a third
 * organization invited by signed votes -> executed on chain -> its node joins and syncs.
 * Plus: expired and rejected proposals, forged and replayed votes, schema errors, authz denials.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTx, signTx, type UnsignedTx } from '../../src/chain/tx.js';
import { builtArtifactsPresent, startControlPlane, type ControlPlane } from '../harness/cp-harness.js';
import {
  client,
  createOrg,
  generateKeyPair,
  signedApproval,
  signedVote,
  toHex,
  waitFor,
  type Call,
  type OrgHandle,
} from '../harness/cp-api.js';

const present = builtArtifactsPresent();

describe.skipIf(!present)('control plane e2e: consortium lifecycle over REST', () => {
  let cp: ControlPlane;
  let admin: Call;
  let a: OrgHandle;
  let b: OrgHandle;
  let c: OrgHandle;
  let cid = '';
  let chainId = '';
  let validatorApis: string[] = [];
  const bob = generateKeyPair(); // receives a transfer; later followed by a light node

  beforeAll(async () => {
    cp = await startControlPlane({ hostRange: { first: 100, last: 149 } });
    admin = client(cp.url, cp.token);
  });
  afterAll(async () => {
    await cp?.shutdown();
  });

  async function awaitRegistration(org: OrgHandle, nodeId: string): Promise<any> {
    return waitFor(
      'node key reported, registration awaiting signature',
      async () => {
        const r = await org.call('GET', `/v1/consortia/${cid}/nodes/${nodeId}`);
        return r.body.registration?.status === 'AWAITING_SIGNATURE' ? r.body.registration : undefined;
      },
      60_000,
      500,
    );
  }

  /** The organization signs its node's registration client-side; the chain executes it. */
  async function register(org: OrgHandle, nodeId: string, reg: any): Promise<void> {
    const { vote: _yes, ...signedReg } = signedVote(org, chainId, reg.proposalId, reg.actionHash, 'YES');
    const accepted = await org.call('POST', `/v1/consortia/${cid}/nodes/${nodeId}/registration`, signedReg);
    expect(accepted.status).toBe(200);
    expect(accepted.body.registration.status).toBe('SIGNED');
    const registered = await waitFor(
      'registration executed on chain',
      async () => {
        const r = await org.call('GET', `/v1/consortia/${cid}/nodes/${nodeId}`);
        if (r.body.registration?.status === 'FAILED') throw new Error(JSON.stringify(r.body.registration));
        return r.body.registration?.status === 'REGISTERED' ? r.body.registration : undefined;
      },
      60_000,
      500,
    );
    const regTx = await waitFor(
      'registration tx on a validator',
      async () => nodeJson(validatorApis[2]!, `/v1/txs/${registered.txHash}`),
      15_000,
    );
    expect(regTx.code).toBe('OK');
  }

  async function nodeJson(base: string, path: string): Promise<any> {
    const r = await fetch(base + path, { signal: AbortSignal.timeout(5000) });
    return r.ok ? r.json() : undefined;
  }

  async function submit(base: string, u: UnsignedTx, sk: Uint8Array): Promise<any> {
    const r = await fetch(`${base}/v1/txs?wait=commit&timeoutMs=15000`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tx: toHex(encodeTx(signTx(u, sk))) }),
      signal: AbortSignal.timeout(20_000),
    });
    return { status: r.status, body: await r.json() };
  }

  it('creates two organizations and a consortium; schema errors name the field', async () => {
    a = await createOrg(admin, cp.url, 'acme');
    b = await createOrg(admin, cp.url, 'globex');
    const bad = await a.call('POST', '/v1/consortia', {
      name: 'trade',
      founders: [a.id, b.id],
      params: { blockIntervalMs: 200, maxBlockBytes: 1 << 20 },
      votingPolicy: { thresholdPercentage: 'lots', thresholdComparator: 'GREATER_THAN', proposalDurationSeconds: 8 },
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.error)).toContain('thresholdPercentage');
    const bad2 = await admin('POST', '/v1/organizations', { adminPublicKeys: [] });
    expect(bad2.status).toBe(400);
    expect(JSON.stringify(bad2.body.error)).toContain('name');
    const created = await a.call('POST', '/v1/consortia', {
      name: 'trade',
      founders: [a.id, b.id],
      params: { blockIntervalMs: 200, maxBlockBytes: 1 << 20 },
      votingPolicy: { thresholdPercentage: 50, thresholdComparator: 'GREATER_THAN', proposalDurationSeconds: 8 },
    });
    expect(created.status).toBe(201);
    cid = created.body.id;
    chainId = created.body.chainId;
    const members = await b.call('GET', `/v1/consortia/${cid}/members`);
    expect(members.body.items.map((m: any) => m.memberId).sort()).toEqual([a.id, b.id].sort());
  });

  it('denies cross-organization access over HTTP', async () => {
    const tokensOfA = await b.call('GET', `/v1/organizations/${a.id}/tokens`);
    expect([403, 404]).toContain(tokensOfA.status);
    const nodeForA = await b.call('POST', `/v1/consortia/${cid}/nodes`, {
      orgId: a.id,
      role: 'validator',
      clusterId: 'local',
    });
    expect(nodeForA.status).toBe(403);
    const orgByOrg = await a.call('POST', '/v1/organizations', {
      name: 'rogue',
      adminPublicKeys: [toHex(generateKeyPair().publicKey)],
    });
    expect(orgByOrg.status).toBe(403);
    const noToken = await fetch(`${cp.url}/v1/consortia`);
    expect(noToken.status).toBe(401);
  });

  it('provisions four validators, runs the ceremony, and the chain finalizes blocks', async () => {
    for (const org of [a, a, b, b]) {
      const r = await org.call('POST', `/v1/consortia/${cid}/nodes`, {
        orgId: org.id,
        role: 'validator',
        clusterId: 'local',
      });
      expect(r.status).toBe(202);
    }
    const start = await a.call('POST', `/v1/consortia/${cid}/ceremony`);
    expect(start.status).toBe(202);
    const cer = await waitFor(
      'genesis assembled',
      async () => {
        const r = await a.call('GET', `/v1/consortia/${cid}/ceremony`);
        return r.body.status === 'AWAITING_APPROVALS' ? r.body : undefined;
      },
      60_000,
    );
    const sealed = await a.call('POST', `/v1/consortia/${cid}/ceremony/approvals`, signedApproval(a, cer.genesisHash));
    expect(sealed.status).toBe(200);
    // a forged approval (B's member id, A's key) is refused
    const forged = await b.call('POST', `/v1/consortia/${cid}/ceremony/approvals`, {
      ...signedApproval(a, cer.genesisHash),
      memberId: b.id,
    });
    expect(forged.status).toBeGreaterThanOrEqual(400);
    const done = await b.call('POST', `/v1/consortia/${cid}/ceremony/approvals`, signedApproval(b, cer.genesisHash));
    expect(done.status).toBe(200);
    expect(done.body.status).toBe('SEALED');
    const nodes = await waitFor(
      'validators ready',
      async () => {
        const r = await a.call('GET', `/v1/consortia/${cid}/nodes`);
        const items = r.body.items as any[];
        return items.length === 4 && items.every((n) => n.status.ready) ? items : undefined;
      },
      90_000,
      500,
    );
    validatorApis = nodes.map((n) => n.status.endpoints.api);
    const heights = await waitFor(
      'blocks finalized on every validator',
      async () => {
        const hs = await Promise.all(validatorApis.map(async (u) => (await nodeJson(u, '/v1/status'))?.height ?? 0));
        return hs.every((h) => h >= 2) ? hs : undefined;
      },
      60_000,
    );
    expect(Math.min(...heights)).toBeGreaterThanOrEqual(2);
    const commit = await nodeJson(validatorApis[0]!, '/v1/blocks/1/commit');
    expect(commit).toBeDefined();
    const tr = await b.call('GET', `/v1/consortia/${cid}/ceremony/transcript`);
    expect(tr.body.entries.length).toBeGreaterThanOrEqual(3);
  });

  it('commits a transfer', async () => {
    const alice = generateKeyPair();
    const api = validatorApis[0]!;
    const base = { chainId, signer: alice.publicKey };
    expect(
      (await submit(api, { ...base, nonce: 0, body: { type: 'create_account' } }, alice.secretKey)).body.code,
    ).toBe('OK');
    expect(
      (await submit(api, { chainId, signer: bob.publicKey, nonce: 0, body: { type: 'create_account' } }, bob.secretKey))
        .body.code,
    ).toBe('OK');
    expect(
      (
        await submit(
          api,
          { ...base, nonce: 1, body: { type: 'issue_asset', asset: 'USD', amount: 1000n, to: alice.publicKey } },
          alice.secretKey,
        )
      ).body.code,
    ).toBe('OK');
    const t = await submit(
      api,
      { ...base, nonce: 2, body: { type: 'transfer', asset: 'USD', to: bob.publicKey, amount: 250n } },
      alice.secretKey,
    );
    expect(t.status).toBe(200);
    expect(t.body).toMatchObject({ status: 'committed', code: 'OK' });
    const other = validatorApis[3]!;
    const seen = await waitFor(
      'transfer visible on another validator',
      async () => nodeJson(other, `/v1/txs/${t.body.hash}`),
      15_000,
    );
    expect(seen.code).toBe('OK');
  });

  it('refuses forged and replayed votes; a proposal can be rejected and can expire', async () => {
    const d = await createOrg(admin, cp.url, 'initech');
    const expiring = await a.call('POST', `/v1/consortia/${cid}/proposals`, {
      action: { type: 'invite_member', orgId: d.id },
    });
    expect(expiring.status).toBe(201);
    const rejected = await a.call('POST', `/v1/consortia/${cid}/proposals`, {
      action: { type: 'change_params', params: { blockIntervalMs: 300 } },
    });
    expect(rejected.status).toBe(201);
    const rp = rejected.body;
    // forged: signed by a key that is not B's admin key
    const forged = signedVote(d, chainId, rp.id, rp.actionHash, 'YES');
    const f = await b.call('POST', `/v1/consortia/${cid}/proposals/${rp.id}/votes`, { ...forged, memberId: b.id });
    expect(f.status).toBeGreaterThanOrEqual(400);
    // voting in another organization's name
    const impersonate = await b.call(
      'POST',
      `/v1/consortia/${cid}/proposals/${rp.id}/votes`,
      signedVote(a, chainId, rp.id, rp.actionHash, 'YES'),
    );
    expect(impersonate.status).toBe(403);
    // 2 members, YES must be > 50%: A's YES leaves it open, B's NO makes approval impossible
    const v1 = await a.call(
      'POST',
      `/v1/consortia/${cid}/proposals/${rp.id}/votes`,
      signedVote(a, chainId, rp.id, rp.actionHash, 'YES'),
    );
    expect(v1.status).toBe(200);
    expect(v1.body.status).toBe('IN_PROGRESS');
    // replay of the same signed vote
    const replay = await a.call(
      'POST',
      `/v1/consortia/${cid}/proposals/${rp.id}/votes`,
      signedVote(a, chainId, rp.id, rp.actionHash, 'YES'),
    );
    expect(replay.status).toBe(409);
    expect(replay.body.error.code).toBe('ALREADY_VOTED');
    // replay of A's signature onto another proposal
    const cross = await a.call('POST', `/v1/consortia/${cid}/proposals/${expiring.body.id}/votes`, {
      ...signedVote(a, chainId, rp.id, rp.actionHash, 'YES'),
      vote: 'YES',
    });
    expect(cross.status).toBeGreaterThanOrEqual(400);
    const v2 = await b.call(
      'POST',
      `/v1/consortia/${cid}/proposals/${rp.id}/votes`,
      signedVote(b, chainId, rp.id, rp.actionHash, 'NO'),
    );
    expect(v2.status).toBe(200);
    expect(v2.body).toMatchObject({ status: 'REJECTED', yesVotes: 1, noVotes: 1 });
    // both founders vote NO: the first NO already decides it (approval is impossible), the second is refused naming the outcome
    const np = (
      await a.call('POST', `/v1/consortia/${cid}/proposals`, {
        action: { type: 'change_params', params: { blockIntervalMs: 400 } },
      })
    ).body;
    const n1 = await a.call(
      'POST',
      `/v1/consortia/${cid}/proposals/${np.id}/votes`,
      signedVote(a, chainId, np.id, np.actionHash, 'NO'),
    );
    expect(n1.status).toBe(200);
    expect(n1.body.status).toBe('REJECTED');
    const n2 = await b.call(
      'POST',
      `/v1/consortia/${cid}/proposals/${np.id}/votes`,
      signedVote(b, chainId, np.id, np.actionHash, 'NO'),
    );
    expect(n2.status).toBe(409);
    expect(n2.body.error).toMatchObject({ code: 'PROPOSAL_CLOSED', details: { status: 'REJECTED', noVotes: 1 } });
    expect((await b.call('GET', `/v1/consortia/${cid}/proposals/${np.id}`)).body).toMatchObject({
      status: 'REJECTED',
      noVotes: 1,
      yesVotes: 0,
    });
    const exp = await waitFor(
      'proposal expired',
      async () => {
        const r = await a.call('GET', `/v1/consortia/${cid}/proposals/${expiring.body.id}`);
        return r.body.status === 'EXPIRED' ? r.body : undefined;
      },
      20_000,
      500,
    );
    expect(exp.yesVotes).toBe(0);
    const late = await a.call(
      'POST',
      `/v1/consortia/${cid}/proposals/${expiring.body.id}/votes`,
      signedVote(a, chainId, expiring.body.id, expiring.body.actionHash, 'YES'),
    );
    expect(late.status).toBeGreaterThanOrEqual(400);
  });

  it('admits a third organization by signed votes; the chain executes it and its node joins and syncs', async () => {
    c = await createOrg(admin, cp.url, 'umbrella');
    const prop = await a.call('POST', `/v1/consortia/${cid}/proposals`, {
      action: { type: 'invite_member', orgId: c.id },
    });
    expect(prop.status).toBe(201);
    const p = prop.body;
    // the invited organization may see the consortium but not vote
    expect((await c.call('GET', `/v1/consortia/${cid}`)).status).toBe(200);
    await a.call(
      'POST',
      `/v1/consortia/${cid}/proposals/${p.id}/votes`,
      signedVote(a, chainId, p.id, p.actionHash, 'YES'),
    );
    const v = await b.call(
      'POST',
      `/v1/consortia/${cid}/proposals/${p.id}/votes`,
      signedVote(b, chainId, p.id, p.actionHash, 'YES'),
    );
    expect(v.body).toMatchObject({ status: 'APPROVED', invitation: { status: 'PENDING' } });
    // approved, but it joins only once it accepts, signed with its own admin key
    const { memberId: _c, ...acceptance } = signedVote(c, chainId, p.id, p.actionHash, 'YES');
    const accepted = await c.call('POST', `/v1/consortia/${cid}/proposals/${p.id}/invitation`, {
      orgId: c.id,
      ...acceptance,
    });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    expect(accepted.body.invitation.status).toBe('ACCEPTED');
    const executed = await waitFor(
      'governance tx executed on chain',
      async () => {
        const r = await a.call('GET', `/v1/consortia/${cid}/proposals/${p.id}`);
        if (r.body.status === 'EXECUTION_FAILED') throw new Error(JSON.stringify(r.body.execution));
        return r.body.status === 'EXECUTED' ? r.body : undefined;
      },
      60_000,
      500,
    );
    expect(executed.execution.onChain).toBe(true);
    const tx = await waitFor(
      'governance tx on a validator',
      async () => nodeJson(validatorApis[1]!, `/v1/txs/${executed.execution.txHash}`),
      15_000,
    );
    expect(tx.code).toBe('OK');
    expect(JSON.stringify(tx.decoded)).toContain(c.id);
    const members = await c.call('GET', `/v1/consortia/${cid}/members`);
    expect(members.body.items.map((m: any) => m.memberId)).toContain(c.id);

    const n = await c.call('POST', `/v1/consortia/${cid}/nodes`, {
      orgId: c.id,
      role: 'ordinary',
      clusterId: 'local',
      tier: { retentionBlocks: 1000 },
    });
    expect(n.status).toBe(202);
    // the node reports its own key; the chain admits it only with C's signed registration
    const reg = await awaitRegistration(c, n.body.id);
    expect(reg.action).toMatchObject({ type: 'register_node', memberId: c.id, role: 'ordinary' });
    const forgedReg = signedVote(a, chainId, reg.proposalId, reg.actionHash, 'YES');
    const refused = await c.call('POST', `/v1/consortia/${cid}/nodes/${n.body.id}/registration`, {
      ...forgedReg,
      memberId: c.id,
    });
    expect(refused.status).toBe(400);
    await register(c, n.body.id, reg);
    const synced = await waitFor(
      'new member node synced',
      async () => {
        const r = await c.call('GET', `/v1/consortia/${cid}/nodes/${n.body.id}`);
        if (!r.body.status.ready || !r.body.status.endpoints) return undefined;
        const mine = (await nodeJson(r.body.status.endpoints.api, '/v1/status'))?.height ?? 0;
        const ref = (await nodeJson(validatorApis[0]!, '/v1/status'))?.height ?? 0;
        return mine > 0 && mine >= ref - 2 ? { mine, ref } : undefined;
      },
      90_000,
      500,
    );
    expect(synced.mine).toBeGreaterThan(0);
    const withStorage = await waitFor(
      'retained range and bytes on disk reported',
      async () => {
        const r = await c.call('GET', `/v1/consortia/${cid}/nodes/${n.body.id}`);
        return r.body.status.storage?.highestHeight > 0 ? r.body.status : undefined;
      },
      30_000,
      500,
    );
    expect(withStorage.storage.bytes).toBeGreaterThan(0);
    expect(withStorage.storage.lowestHeight).toBeLessThanOrEqual(withStorage.storage.highestHeight);
    // It joined from a verified snapshot of the nodes admitted before it, not by replaying from block 1.
    expect(withStorage.storage.lowestHeight).toBeGreaterThan(1);
  });

  it("a member's light node follows headers and proves its followed account's balance", async () => {
    const n = await c.call('POST', `/v1/consortia/${cid}/nodes`, {
      orgId: c.id,
      role: 'light',
      clusterId: 'local',
      tier: { followAccounts: [toHex(bob.publicKey)] },
    });
    expect(n.status).toBe(202);
    const reg = await awaitRegistration(c, n.body.id);
    expect(reg.action).toMatchObject({ type: 'register_node', memberId: c.id, role: 'light' });
    await register(c, n.body.id, reg);
    const api = await waitFor(
      'light node ready',
      async () => {
        const r = await c.call('GET', `/v1/consortia/${cid}/nodes/${n.body.id}`);
        return r.body.status.ready && r.body.status.endpoints ? (r.body.status.endpoints.api as string) : undefined;
      },
      90_000,
      500,
    );
    const account = await waitFor(
      'followed account proven on the light node',
      async () => nodeJson(api, `/v1/accounts/${toHex(bob.publicKey)}`),
      60_000,
      500,
    );
    expect(account.balances).toEqual([{ asset: 'USD', amount: '250' }]);
    const full = await nodeJson(validatorApis[0]!, `/v1/blocks/${account.height}/header`);
    expect(account.stateRoot).toBe(full.header.stateRoot); // the root of a header every validator signed
    expect((await fetch(`${api}/v1/blocks/1`)).status).toBe(410); // headers only: no block bodies
  });
});
