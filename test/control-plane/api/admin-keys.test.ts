// Admin-key rotation and lost-key recovery through the proposal/vote API: input checks (nothing
// stored on refusal), who votes and how the policy counts, and the control plane's record of the
// member's keys following the chain. The chain here is the real state transition (src/chain) run
// in-process behind the governance worker's ChainClient seam.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_PARAMS,
  StateKeys,
  WorldState,
  adminKeyEndorsementPayload,
  checkTx,
  decodeAccount,
  decodeTx,
  encodeTx,
  executeBlock,
  fromHex,
  generateKeyPair,
  getMember,
  merkleRoot,
  signDomain,
  signProofOfPossession,
  signTx,
  toHex,
  txHash,
  ZERO_HASH,
  type KeyPair,
} from '../../../src/chain/index.js';
import { GovernanceWorker, type ChainClient, type SubmitResult } from '../../../src/control-plane/reconciler/index.js';
import { repositories } from '../../../src/control-plane/store/index.js';
import {
  call,
  createConsortium,
  createOrg,
  signVote,
  startHarness,
  type Harness,
  type OrgFixture,
} from '../helpers.js';

/** The chain's own state transition behind the ChainClient seam: one block per submitted tx. */
class InProcessChain implements ChainClient {
  readonly state: WorldState;
  height = 0;
  constructor(chainId: string, members: OrgFixture[]) {
    const v = generateKeyPair();
    this.state = WorldState.fromGenesis({
      chainId,
      genesisTime: 1_700_000_000_000,
      params: {
        ...DEFAULT_PARAMS,
        votingPolicy: { thresholdPercentage: 50, thresholdComparator: 'GREATER_THAN', proposalDurationSeconds: 3600 },
      },
      members: members.map((o) => ({ memberId: o.id, name: o.name, adminKeys: [o.key.publicKey] })),
      validators: [
        {
          memberId: members[0]!.id,
          publicKey: v.publicKey,
          power: 1,
          proofOfPossession: signProofOfPossession(chainId, v.secretKey, v.publicKey),
        },
      ],
      nodes: [],
      accounts: [],
    });
  }
  async accountNonce(_api: string, pk: string) {
    const b = this.state.get(StateKeys.account(fromHex(pk, 32)));
    return b === undefined ? null : decodeAccount(b).nonce;
  }
  async submit(_api: string, txHex: string): Promise<SubmitResult> {
    const bytes = fromHex(txHex);
    const tx = decodeTx(bytes);
    const refused = checkTx(this.state, tx);
    if (refused) return { ok: false, code: refused.code, retry: false, message: refused.message };
    this.height++;
    const e = executeBlock(this.state, {
      header: {
        chainId: tx.chainId,
        height: this.height,
        time: 1_700_000_001_000 + this.height,
        prevHash: ZERO_HASH,
        txRoot: merkleRoot([bytes]),
        stateRoot: ZERO_HASH,
        validatorSetHash: ZERO_HASH,
        proposer: new Uint8Array(32),
        lastCommitHash: ZERO_HASH,
        evidenceRoot: merkleRoot([]),
      },
      txs: [bytes],
      evidence: [],
      lastCommit: null,
    });
    this.state.commit(e);
    const r = e.results[0]!;
    return { ok: r.code === 'OK', code: r.code, retry: false, hash: toHex(txHash(bytes)), height: this.height };
  }
}

function endorse(chainId: string, memberId: string, by: KeyPair, newKeys: string[]) {
  const payload = adminKeyEndorsementPayload(
    chainId,
    memberId,
    newKeys.map((k) => fromHex(k, 32)),
  );
  return {
    adminKey: toHex(by.publicKey),
    signature: toHex(signDomain('consortia/admin-key-endorsement/v1', by.secretKey, payload)),
  };
}

describe('admin-key rotation and recovery proposals', () => {
  let h: Harness;
  let orgs: OrgFixture[];
  const submitter = generateKeyPair();

  beforeAll(async () => {
    h = await startHarness();
    orgs = [];
    for (const n of ['A', 'B', 'C', 'D']) orgs.push(await createOrg(h, n));
  });
  afterAll(async () => h.close());

  /** A consortium of the four orgs whose chain runs (ACTIVE) with one running node to submit to. */
  async function activeConsortium() {
    const c = await createConsortium(
      h,
      orgs[0]!,
      orgs.map((o) => o.id),
    );
    await h.store.transact(async (uow) => {
      const repo = repositories(uow);
      await repo.consortia.put({ ...(await repo.consortia.get(c.id))!, status: 'ACTIVE' });
      await repo.nodes.put({
        id: 'node_x',
        consortiumId: c.id,
        orgId: orgs[0]!.id,
        role: 'validator',
        clusterId: 'local',
        tier: {},
        resources: { cpu: '1', memory: '1Gi' },
        desired: 'present',
        mode: 'run',
        generation: 1,
        createdAt: new Date().toISOString(),
        version: 0,
        status: {
          phase: 'Running',
          ready: true,
          endpoints: { api: 'http://127.0.0.9:1', p2p: '127.0.0.9:2', metrics: 'http://127.0.0.9:1/metrics' },
        },
      });
    });
    return c;
  }
  const propose = (cid: string, by: OrgFixture, action: object) =>
    call(h, 'POST', `/v1/consortia/${cid}/proposals`, by.adminToken, { action });
  const vote = (cid: string, chainId: string, p: { id: string; actionHash: string }, o: OrgFixture, key = o.key) =>
    call(h, 'POST', `/v1/consortia/${cid}/proposals/${p.id}/votes`, o.adminToken, {
      ...signVote({ ...o, key }, chainId, p.id, p.actionHash, 'YES'),
    });
  const proposals = async (cid: string) =>
    (await call(h, 'GET', `/v1/consortia/${cid}/proposals`, orgs[0]!.adminToken)).json().items as unknown[];

  it('refuses bad rotation input with stable codes and stores nothing', async () => {
    const c = await activeConsortium();
    const a = orgs[0]!;
    const next = toHex(generateKeyPair().publicKey);
    const good = {
      type: 'rotate_admin_keys',
      memberId: a.id,
      newAdminKeys: [next],
      endorsement: endorse(c.chainId, a.id, a.key, [next]),
    };
    const notAPoint = `02${'00'.repeat(31)}`;
    const cases: [OrgFixture, object, number, string, string?][] = [
      [a, { ...good, newAdminKeys: ['XYZ'] }, 400, 'VALIDATION_FAILED'],
      [
        a,
        { ...good, newAdminKeys: [next, next], endorsement: endorse(c.chainId, a.id, a.key, [next, next]) },
        400,
        'INVALID_KEY',
        'action.newAdminKeys[1]',
      ],
      [
        a,
        { ...good, newAdminKeys: [notAPoint], endorsement: endorse(c.chainId, a.id, a.key, [notAPoint]) },
        400,
        'INVALID_KEY',
        'action.newAdminKeys[0]',
      ],
      [
        a,
        {
          ...good,
          newAdminKeys: [toHex(orgs[1]!.key.publicKey)],
          endorsement: endorse(c.chainId, a.id, a.key, [toHex(orgs[1]!.key.publicKey)]),
        },
        400,
        'INVALID_KEY',
        'action.newAdminKeys[0]',
      ],
      [
        a,
        {
          ...good,
          newAdminKeys: [toHex(a.key.publicKey)],
          endorsement: endorse(c.chainId, a.id, a.key, [toHex(a.key.publicKey)]),
        },
        400,
        'INVALID_KEY',
      ],
      [
        a,
        { ...good, endorsement: endorse('other-chain', a.id, a.key, [next]) },
        400,
        'INVALID_ENDORSEMENT',
        'action.endorsement.signature',
      ],
      [
        a,
        { ...good, endorsement: endorse(c.chainId, a.id, orgs[1]!.key, [next]) },
        400,
        'INVALID_ENDORSEMENT',
        'action.endorsement.adminKey',
      ],
      [a, { ...good, memberId: 'org_nobody' }, 403, 'FORBIDDEN'],
      [orgs[1]!, good, 403, 'FORBIDDEN'],
      [
        a,
        { type: 'recover_admin_keys', memberId: 'org_nobody', newAdminKeys: [next] },
        400,
        'INVALID_ACTION',
        'action.memberId',
      ],
    ];
    for (const [by, action, status, code, field] of cases) {
      const r = await propose(c.id, by, action);
      expect({ status: r.statusCode, code: r.json().error.code }).toEqual({ status, code });
      if (field) expect(r.json().error.details.field).toBe(field);
    }
    expect(await proposals(c.id)).toEqual([]);

    // before the chain runs there is nothing to rotate on
    const forming = await createConsortium(
      h,
      a,
      orgs.map((o) => o.id),
    );
    const r = await propose(forming.id, a, { ...good, endorsement: endorse(forming.chainId, a.id, a.key, [next]) });
    expect([r.statusCode, r.json().error.code]).toEqual([409, 'INVALID_STATE']);
  });

  it('rotation: every member votes (its own vote counts); one open replacement per member', async () => {
    const c = await activeConsortium();
    const a = orgs[0]!;
    const next = toHex(generateKeyPair().publicKey);
    const r = await propose(c.id, a, {
      type: 'rotate_admin_keys',
      memberId: a.id,
      newAdminKeys: [next],
      endorsement: endorse(c.chainId, a.id, a.key, [next]),
    });
    expect(r.statusCode).toBe(201);
    const p = r.json();
    expect(p.chainAction).toMatchObject({ type: 'replace_admin_keys', memberId: a.id, newAdminKeys: [next] });
    expect(p.eligibleMemberIds).toEqual(expect.arrayContaining(orgs.map((o) => o.id)));
    expect((await vote(c.id, c.chainId, p, a)).json().status).toBe('IN_PROGRESS');
    expect((await vote(c.id, c.chainId, p, orgs[1]!)).json().status).toBe('IN_PROGRESS');
    const second = await propose(c.id, orgs[1]!, {
      type: 'recover_admin_keys',
      memberId: a.id,
      newAdminKeys: [toHex(generateKeyPair().publicKey)],
    });
    expect([second.statusCode, second.json().error.code]).toEqual([409, 'INVALID_STATE']);
    expect((await vote(c.id, c.chainId, p, orgs[2]!)).json().status).toBe('APPROVED'); // 3 of 4 > 50%
  });

  it('recovery: the member does not vote; the policy counts the other members only', async () => {
    const c = await activeConsortium();
    const lost = orgs[3]!;
    const next = toHex(generateKeyPair().publicKey);
    const r = await propose(c.id, lost, { type: 'recover_admin_keys', memberId: lost.id, newAdminKeys: [next] });
    expect(r.statusCode).toBe(201); // the member still has its API token, only the key is lost
    const p = r.json();
    expect(p.chainAction.endorsement).toBeNull();
    expect(p.eligibleMemberIds.sort()).toEqual(
      orgs
        .slice(0, 3)
        .map((o) => o.id)
        .sort(),
    );
    const own = await vote(c.id, c.chainId, p, lost);
    expect([own.statusCode, own.json().error.code]).toEqual([403, 'NOT_A_MEMBER']);
    expect(own.json().error.message).toContain('does not vote on the recovery');
    expect((await vote(c.id, c.chainId, p, orgs[0]!)).json().status).toBe('IN_PROGRESS');
    expect((await vote(c.id, c.chainId, p, orgs[1]!)).json().status).toBe('APPROVED'); // 2 of 3 > 50%
  });

  it('executes on the chain; then the retired key is refused (409 KEY_RETIRED), the new key votes, the record follows the chain', async () => {
    const c = await activeConsortium();
    const chain = new InProcessChain(c.chainId, orgs);
    const w = new GovernanceWorker({ store: h.store, bus: h.ctx.bus, submitter, chain, now: () => h.clock.ms });
    const a = orgs[0]!;
    const nextKey = generateKeyPair();
    const next = toHex(nextKey.publicKey);
    // an unrelated proposal A already voted on with the key it is about to retire
    const other = (await propose(c.id, orgs[1]!, { type: 'change_params', params: { blockIntervalMs: 700 } })).json();
    expect((await vote(c.id, c.chainId, other, a)).statusCode).toBe(200);

    const p = (
      await propose(c.id, a, {
        type: 'rotate_admin_keys',
        memberId: a.id,
        newAdminKeys: [next],
        endorsement: endorse(c.chainId, a.id, a.key, [next]),
      })
    ).json();
    for (const o of orgs.slice(0, 3)) await vote(c.id, c.chainId, p, o);
    await w.pass();
    const done = (await call(h, 'GET', `/v1/consortia/${c.id}/proposals/${p.id}`, a.adminToken)).json();
    expect(done.status).toBe('EXECUTED');
    expect(done.execution.code).toBe('OK');
    expect(getMember(chain.state, a.id)!.adminKeys.map(toHex)).toEqual([next]);

    const members = (await call(h, 'GET', `/v1/consortia/${c.id}/members`, a.adminToken)).json();
    const m = (members.items ?? members).find((x: { memberId: string }) => x.memberId === a.id);
    expect(m.adminKeys).toEqual([next]);
    expect(m.retiredAdminKeys).toEqual([
      expect.objectContaining({ publicKey: toHex(a.key.publicKey), proposalId: p.id, height: done.execution.height }),
    ]);
    expect((await call(h, 'GET', `/v1/organizations/${a.id}`, a.adminToken)).json().adminPublicKeys).toEqual([next]);

    // the vote A cast with the retired key is gone from the open proposal; A votes again with the new key
    const reopened = (await call(h, 'GET', `/v1/consortia/${c.id}/proposals/${other.id}`, a.adminToken)).json();
    expect(reopened.votes).toEqual([]);
    const third = (await propose(c.id, orgs[1]!, { type: 'change_params', params: { blockIntervalMs: 800 } })).json();
    const refused = await vote(c.id, c.chainId, third, a);
    expect([refused.statusCode, refused.json().error.code]).toEqual([409, 'KEY_RETIRED']);
    expect(refused.json().error.message).toContain(`at height ${done.execution.height}`);
    expect((await vote(c.id, c.chainId, third, a, nextKey)).statusCode).toBe(200);
    // the retired key cannot endorse another rotation either
    const again = toHex(generateKeyPair().publicKey);
    const replay = await propose(c.id, a, {
      type: 'rotate_admin_keys',
      memberId: a.id,
      newAdminKeys: [again],
      endorsement: endorse(c.chainId, a.id, a.key, [again]),
    });
    expect([replay.statusCode, replay.json().error.code]).toEqual([409, 'KEY_RETIRED']);

    // the chain refuses the retired key by itself too, whatever the control plane relays
    const v = signVote(a, c.chainId, third.id, third.actionHash, 'YES');
    const tx = signTx(
      {
        chainId: c.chainId,
        signer: submitter.publicKey,
        nonce: (await chain.accountNonce('x', toHex(submitter.publicKey)))!,
        body: {
          type: 'governance',
          proposalId: third.id,
          action: { type: 'change_params', params: { blockIntervalMs: 800 } },
          votes: [{ memberId: a.id, adminKey: a.key.publicKey, vote: 'YES', signature: fromHex(v.signature, 64) }],
        },
      },
      submitter.secretKey,
    );
    expect((await chain.submit('x', toHex(encodeTx(tx)))).code).toBe('GOV_KEY_RETIRED');
  });

  it("recovery executes on the chain with the other members' votes only", async () => {
    const c = await activeConsortium();
    const chain = new InProcessChain(c.chainId, orgs);
    const w = new GovernanceWorker({ store: h.store, bus: h.ctx.bus, submitter, chain, now: () => h.clock.ms });
    // (orgs[0] rotated its key in the test before: B and D vote)
    const lost = orgs[2]!;
    const next = toHex(generateKeyPair().publicKey);
    const p = (
      await propose(c.id, orgs[1]!, { type: 'recover_admin_keys', memberId: lost.id, newAdminKeys: [next] })
    ).json();
    for (const o of [orgs[1]!, orgs[3]!]) await vote(c.id, c.chainId, p, o);
    await w.pass();
    const done = (await call(h, 'GET', `/v1/consortia/${c.id}/proposals/${p.id}`, lost.adminToken)).json();
    expect([done.status, done.execution.code]).toEqual(['EXECUTED', 'OK']);
    expect(getMember(chain.state, lost.id)!.adminKeys.map(toHex)).toEqual([next]);
  });
});
