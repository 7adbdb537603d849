// Proposal kind rotate_validator_key: the control plane asks the validator node for its new key
// (a fake node behind the ApiContext.requestConsensusKey seam), files the proposal, refuses bad input
// with stable codes, and records the new key once the governance tx executed.
import { NodeRefusedKeyError } from '../../../src/control-plane/reconciler/node-consensus-key.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeTx,
  fromHex,
  generateKeyPair,
  signProofOfPossession,
  toHex,
  type KeyPair,
  type Tx,
} from '../../../src/chain/index.js';
import type { NodeRecord, PreparedValidatorKey } from '../../../src/control-plane/domain/types.js';
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

const EXECUTED_AT = 12;

/** Records what the governance worker submits and answers as the chain would for a passing tx. */
class RecordingChain implements ChainClient {
  readonly txs: Tx[] = [];
  async accountNonce(): Promise<number> {
    return this.txs.length;
  }
  async submit(_api: string, txHex: string): Promise<SubmitResult> {
    const tx = decodeTx(fromHex(txHex));
    this.txs.push(tx);
    return { ok: true, code: 'OK', hash: '00'.repeat(32), height: EXECUTED_AT, retry: false };
  }
}

describe('rotate_validator_key proposals', () => {
  let h: Harness;
  let orgs: OrgFixture[];
  let cid: string;
  let chainId: string;
  const oldKey = generateKeyPair();
  let newKey: KeyPair;
  let answer: (n: NodeRecord) => Promise<PreparedValidatorKey>;

  beforeAll(async () => {
    h = await startHarness();
    orgs = [];
    for (const n of ['A', 'B', 'C']) orgs.push(await createOrg(h, n));
    const c = await createConsortium(
      h,
      orgs[0]!,
      orgs.map((o) => o.id),
    );
    cid = c.id;
    chainId = c.chainId;
    const node = (id: string, orgId: string, role: string, ready: boolean): NodeRecord => ({
      id,
      consortiumId: cid,
      orgId,
      role: role as NodeRecord['role'],
      clusterId: 'local',
      tier: {} as NodeRecord['tier'],
      resources: { cpu: '1', memory: '1Gi' } as NodeRecord['resources'],
      desired: 'present',
      mode: 'run',
      generation: 1,
      createdAt: new Date().toISOString(),
      version: 0,
      status: {
        phase: 'Running',
        ready,
        identity: { publicKey: toHex(oldKey.publicKey), proofOfPossession: '00'.repeat(64), verified: true },
        endpoints: { api: 'http://127.0.0.9:1', p2p: '127.0.0.9:2', metrics: 'http://127.0.0.9:1/metrics' },
        inValidatorSet: true,
      },
    });
    await h.store.transact(async (uow) => {
      const repo = repositories(uow);
      await repo.consortia.put({ ...(await repo.consortia.get(cid))!, status: 'ACTIVE' });
      await repo.nodes.put(node('node_v', orgs[0]!.id, 'validator', true));
      await repo.nodes.put(node('node_down', orgs[0]!.id, 'validator', false));
      await repo.nodes.put(node('node_super', orgs[0]!.id, 'super', true));
      await repo.nodes.put({
        ...node('node_kms', orgs[0]!.id, 'validator', true),
        key: { provider: 'kms', backend: 'aws-kms', keyId: 'alias/v' },
      });
    });
    newKey = generateKeyPair();
    answer = async () => ({
      publicKey: toHex(newKey.publicKey),
      proofOfPossession: toHex(signProofOfPossession(chainId, newKey.secretKey, newKey.publicKey)),
      currentKey: toHex(oldKey.publicKey),
    });
    h.ctx.requestConsensusKey = (n) => answer(n);
  });
  afterAll(async () => h.close());

  const propose = (by: OrgFixture, action: object) =>
    call(h, 'POST', `/v1/consortia/${cid}/proposals`, by.adminToken, { action });

  it('refuses bad input with 4xx and stable codes, and stores nothing', async () => {
    const good = answer;
    const cases: [OrgFixture, object, number, string][] = [
      [orgs[0]!, { type: 'rotate_validator_key' }, 400, 'VALIDATION_FAILED'],
      [orgs[0]!, { type: 'rotate_validator_key', nodeId: 'node_v', newPublicKey: 'ab' }, 400, 'VALIDATION_FAILED'],
      [orgs[0]!, { type: 'rotate_validator_key', nodeId: 'node_nope' }, 400, 'INVALID_ACTION'],
      [orgs[0]!, { type: 'rotate_validator_key', nodeId: 'node_super' }, 400, 'INVALID_ACTION'],
      [orgs[1]!, { type: 'rotate_validator_key', nodeId: 'node_v' }, 403, 'FORBIDDEN'],
      [orgs[0]!, { type: 'rotate_validator_key', nodeId: 'node_down' }, 503, 'NODE_UNAVAILABLE'],
      // a KMS node holds no kms:CreateKey: refused before it is asked
      [orgs[0]!, { type: 'rotate_validator_key', nodeId: 'node_kms' }, 409, 'INVALID_STATE'],
    ];
    for (const [by, action, status, code] of cases) {
      const r = await propose(by, action);
      expect([JSON.stringify(action), r.statusCode, r.json().error.code]).toEqual([
        JSON.stringify(action),
        status,
        code,
      ]);
    }
    // the node cannot be reached, answers with a key that has no valid proof of possession, or signs with another key
    answer = async () => {
      throw new Error('connect ECONNREFUSED');
    };
    expect((await propose(orgs[0]!, { type: 'rotate_validator_key', nodeId: 'node_v' })).json().error.code).toBe(
      'NODE_UNAVAILABLE',
    );
    // a node that answers and refuses (its key backend cannot make keys) is in the wrong state, not unavailable
    answer = async () => {
      throw new NodeRefusedKeyError(409, 'KEY_ROTATION_UNSUPPORTED', 'HTTP 409 KEY_ROTATION_UNSUPPORTED');
    };
    const refused = await propose(orgs[0]!, { type: 'rotate_validator_key', nodeId: 'node_v' });
    expect([refused.statusCode, refused.json().error.code]).toEqual([409, 'INVALID_STATE']);
    expect(refused.json().error.message).toContain('KEY_ROTATION_UNSUPPORTED');
    answer = async (n) => ({ ...(await good(n)), proofOfPossession: '11'.repeat(64) });
    const badPop = await propose(orgs[0]!, { type: 'rotate_validator_key', nodeId: 'node_v' });
    expect([badPop.statusCode, badPop.json().error.code]).toEqual([503, 'NODE_UNAVAILABLE']);
    answer = async (n) => ({ ...(await good(n)), currentKey: toHex(generateKeyPair().publicKey) });
    const drift = await propose(orgs[0]!, { type: 'rotate_validator_key', nodeId: 'node_v' });
    expect([drift.statusCode, drift.json().error.code]).toEqual([409, 'INVALID_STATE']);
    answer = good;
    const list = await call(h, 'GET', `/v1/consortia/${cid}/proposals`, orgs[0]!.adminToken);
    expect(list.json().items).toHaveLength(0);
  });

  it('files the proposal with the key the node made, one at a time, and records the new key once executed', async () => {
    const r = await propose(orgs[0]!, { type: 'rotate_validator_key', nodeId: 'node_v' });
    expect(r.statusCode).toBe(201);
    const p = r.json() as { id: string; actionHash: string; chainAction: Record<string, unknown>; status: string };
    expect(p.chainAction).toEqual({
      type: 'rotate_validator_key',
      oldPublicKey: toHex(oldKey.publicKey),
      newPublicKey: toHex(newKey.publicKey),
      proofOfPossession: toHex(signProofOfPossession(chainId, newKey.secretKey, newKey.publicKey)),
    });
    const again = await propose(orgs[0]!, { type: 'rotate_validator_key', nodeId: 'node_v' });
    expect([again.statusCode, again.json().error.code]).toEqual([409, 'INVALID_STATE']);

    for (const o of orgs.slice(0, 2)) {
      const v = await call(
        h,
        'POST',
        `/v1/consortia/${cid}/proposals/${p.id}/votes`,
        o.adminToken,
        signVote(o, chainId, p.id, p.actionHash, 'YES'),
      );
      expect(v.statusCode).toBe(200);
    }
    const chain = new RecordingChain();
    const w = new GovernanceWorker({
      store: h.store,
      bus: h.ctx.bus,
      submitter: generateKeyPair(),
      chain,
      now: () => h.clock.ms,
    });
    await w.pass();
    const gov = chain.txs.find((t) => t.body.type === 'governance');
    expect(gov?.body.type === 'governance' && gov.body.action.type).toBe('rotate_validator_key');
    const done = await call(h, 'GET', `/v1/consortia/${cid}/proposals/${p.id}`, orgs[0]!.adminToken);
    expect(done.json().status).toBe('EXECUTED');
    const n = await call(h, 'GET', `/v1/consortia/${cid}/nodes/node_v`, orgs[0]!.adminToken);
    expect(n.json().consensusKey).toMatchObject({
      publicKey: toHex(newKey.publicKey),
      previous: [toHex(oldKey.publicKey)],
      proposalId: p.id,
      height: EXECUTED_AT,
    });
    // the next rotation starts from the recorded key
    const next = generateKeyPair();
    answer = async () => ({
      publicKey: toHex(next.publicKey),
      proofOfPossession: toHex(signProofOfPossession(chainId, next.secretKey, next.publicKey)),
      currentKey: toHex(newKey.publicKey),
    });
    const second = await propose(orgs[0]!, { type: 'rotate_validator_key', nodeId: 'node_v' });
    expect(second.statusCode).toBe(201);
    expect(second.json().chainAction.oldPublicKey).toBe(toHex(newKey.publicKey));
  });
});
