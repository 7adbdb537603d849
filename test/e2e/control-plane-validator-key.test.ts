/**
 * rotate_validator_key through the control plane with real processes: the control plane asks the
 * running validator (its admin API, with the node's admin token) for a new key, files the proposal,
 * the members vote, the chain executes it, the node record shows the new key, the node stays in
 * the validator set by the control plane's status, and commits carry the new key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtArtifactsPresent, startControlPlane, type ControlPlane } from '../harness/cp-harness.js';
import {
  client,
  createOrg,
  signedApproval,
  signedVote,
  waitFor,
  type Call,
  type OrgHandle,
} from '../harness/cp-api.js';

const present = builtArtifactsPresent();

describe.skipIf(!present)('control plane e2e: a validator rotates its consensus key', () => {
  let cp: ControlPlane;
  let admin: Call;
  let a: OrgHandle;
  let b: OrgHandle;
  let cid = '';
  let chainId = '';

  beforeAll(async () => {
    cp = await startControlPlane({ hostRange: { first: 150, last: 179 } });
    admin = client(cp.url, cp.token);
  });
  afterAll(async () => {
    await cp?.shutdown();
  });

  async function nodeJson(base: string, path: string): Promise<any> {
    const r = await fetch(base + path, { signal: AbortSignal.timeout(5000) });
    return r.ok ? r.json() : undefined;
  }

  it('runs four validators of two organizations', async () => {
    a = await createOrg(admin, cp.url, 'acme');
    b = await createOrg(admin, cp.url, 'globex');
    const created = await a.call('POST', '/v1/consortia', {
      name: 'rotation',
      founders: [a.id, b.id],
      params: { blockIntervalMs: 200, maxBlockBytes: 1 << 20 },
      votingPolicy: { thresholdPercentage: 50, thresholdComparator: 'GREATER_THAN', proposalDurationSeconds: 120 },
    });
    expect(created.status).toBe(201);
    cid = created.body.id;
    chainId = created.body.chainId;
    for (const org of [a, a, b, b])
      expect(
        (await org.call('POST', `/v1/consortia/${cid}/nodes`, { orgId: org.id, role: 'validator', clusterId: 'local' }))
          .status,
      ).toBe(202);
    expect((await a.call('POST', `/v1/consortia/${cid}/ceremony`)).status).toBe(202);
    const cer = await waitFor(
      'genesis assembled',
      async () => {
        const r = await a.call('GET', `/v1/consortia/${cid}/ceremony`);
        return r.body.status === 'AWAITING_APPROVALS' ? r.body : undefined;
      },
      60_000,
    );
    for (const org of [a, b])
      expect(
        (await org.call('POST', `/v1/consortia/${cid}/ceremony/approvals`, signedApproval(org, cer.genesisHash)))
          .status,
      ).toBe(200);
    await waitFor(
      'validators ready and in the set',
      async () => {
        const items = (await a.call('GET', `/v1/consortia/${cid}/nodes`)).body.items as any[];
        return items.length === 4 && items.every((n) => n.status.ready && n.status.inValidatorSet === true)
          ? items
          : undefined;
      },
      90_000,
      500,
    );
  });

  it("rotates the key of one of acme's validators by proposal and vote; the node keeps validating with it", async () => {
    const nodes = (await a.call('GET', `/v1/consortia/${cid}/nodes`)).body.items as any[];
    const mine = nodes.find((n) => n.orgId === a.id)!;
    const theirs = nodes.find((n) => n.orgId === b.id)!;
    const oldKey = mine.status.identity.publicKey as string;

    // only the node's organization proposes; unknown nodes are refused with a stable code
    const forbidden = await b.call('POST', `/v1/consortia/${cid}/proposals`, {
      action: { type: 'rotate_validator_key', nodeId: mine.id },
    });
    expect([forbidden.status, forbidden.body.error.code]).toEqual([403, 'FORBIDDEN']);
    const unknown = await a.call('POST', `/v1/consortia/${cid}/proposals`, {
      action: { type: 'rotate_validator_key', nodeId: 'node_nope' },
    });
    expect([unknown.status, unknown.body.error.code]).toEqual([400, 'INVALID_ACTION']);

    const filed = await a.call('POST', `/v1/consortia/${cid}/proposals`, {
      action: { type: 'rotate_validator_key', nodeId: mine.id },
    });
    expect(filed.status).toBe(201);
    const p = filed.body;
    expect(p.chainAction.oldPublicKey).toBe(oldKey);
    const newKey = p.chainAction.newPublicKey as string;
    expect(newKey).not.toBe(oldKey);
    // the node holds the key it made (public keys only in its listing)
    const held = await nodeJson(mine.status.endpoints.api, '/v1/consensus-keys');
    expect(held.keys.map((k: any) => k.publicKey)).toContain(newKey);

    for (const org of [a, b])
      expect(
        (
          await org.call(
            'POST',
            `/v1/consortia/${cid}/proposals/${p.id}/votes`,
            signedVote(org, chainId, p.id, p.actionHash, 'YES'),
          )
        ).status,
      ).toBe(200);
    const executed = await waitFor(
      'rotation executed on chain',
      async () => {
        const r = await a.call('GET', `/v1/consortia/${cid}/proposals/${p.id}`);
        if (r.body.status === 'EXECUTION_FAILED') throw new Error(JSON.stringify(r.body.execution));
        return r.body.status === 'EXECUTED' ? r.body : undefined;
      },
      60_000,
      500,
    );
    const switchAt = (executed.execution.height as number) + 1;
    const rec = (await a.call('GET', `/v1/consortia/${cid}/nodes/${mine.id}`)).body;
    expect(rec.consensusKey).toMatchObject({ publicKey: newKey, previous: [oldKey], proposalId: p.id });

    // the chain's set holds the new key with the same power; the node signs commits with it
    const status = await nodeJson(theirs.status.endpoints.api, '/v1/status');
    const set = status.validators as { publicKey: string; power: number }[];
    expect(set.map((v) => v.publicKey)).toContain(newKey);
    expect(set.map((v) => v.publicKey)).not.toContain(oldKey);
    await waitFor(
      'a commit carrying the new key',
      async () => {
        const top = (await nodeJson(theirs.status.endpoints.api, '/v1/status')).height as number;
        for (let h = switchAt; h < top; h++) {
          const next = await nodeJson(theirs.status.endpoints.api, `/v1/blocks/${h + 1}`);
          if (next?.lastCommit?.signatures?.some((s: any) => s.validator === newKey)) return true;
        }
        return undefined;
      },
      30_000,
      500,
    );
    // the control plane still counts it in the validator set (it follows the key the node signs with)
    await waitFor(
      'node status after the switch',
      async () => {
        const n = (await a.call('GET', `/v1/consortia/${cid}/nodes/${mine.id}`)).body;
        return n.status.inValidatorSet === true && n.status.height > switchAt ? n : undefined;
      },
      30_000,
      500,
    );
  });
});
