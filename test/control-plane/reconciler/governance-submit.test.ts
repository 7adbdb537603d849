import { describe, expect, it } from 'vitest';
import { decodeTx, fromHex, generateKeyPair } from '../../../src/chain/index.js';
import type { NodeRecord } from '../../../src/control-plane/domain/types.js';
import type { ChainClient, SubmitResult } from '../../../src/control-plane/reconciler/chain-client.js';
import {
  SUBMIT_TARGETS_MAX,
  submitTargets,
  submitToConsortium,
} from '../../../src/control-plane/reconciler/governance-submit.js';

function node(id: string, status: Partial<NodeRecord['status']>, extra: Partial<NodeRecord> = {}): NodeRecord {
  return {
    id,
    consortiumId: 'c',
    orgId: 'o',
    role: 'validator',
    clusterId: 'k',
    tier: {},
    resources: { cpu: '1', memory: '1Gi' },
    desired: 'present',
    mode: 'run',
    generation: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    version: 0,
    status: {
      phase: 'Running',
      ready: true,
      endpoints: { api: `http://${id}`, p2p: `${id}:1`, metrics: `http://${id}/metrics` },
      ...status,
    },
    ...extra,
  } as NodeRecord;
}

/** Per node API: what it answers to a governance tx (an Error = unreachable). */
class Nodes implements ChainClient {
  calls: string[] = [];
  constructor(private readonly answers: Record<string, SubmitResult | Error>) {}
  async accountNonce(): Promise<number | null> {
    return 1;
  }
  async submit(api: string, txHex: string): Promise<SubmitResult> {
    expect(decodeTx(fromHex(txHex)).body.type).toBe('governance');
    this.calls.push(api);
    const a = this.answers[api];
    if (a instanceof Error) throw a;
    return a ?? { ok: true, code: 'OK', retry: false };
  }
}

const g = { proposalId: 'p1', action: { type: 'remove_member' as const, memberId: 'm' }, votes: [] };
const submitter = generateKeyPair();

describe('where the control plane submits governance txs', () => {
  it('ready nodes first, then running ones not ready for their current spec; never stopped, deleted or keygen nodes', () => {
    const nodes = [
      node('rolling', { ready: false, message: 'rolling: the pod predates the current spec' }),
      node('ready', {}),
      node('pending', { phase: 'Provisioning', ready: false }),
      node('keygen', {}, { mode: 'keygen' } as Partial<NodeRecord>),
      node('gone', {}, { desired: 'deleted' }),
      node('noapi', { endpoints: undefined }),
    ];
    expect(submitTargets(nodes)).toEqual(['http://ready', 'http://rolling']);
  });

  it('moves on from a node that does not answer to the next one, and stops at the first answer of the chain', async () => {
    const chain = new Nodes({
      'http://a': new Error('connect ECONNREFUSED'),
      'http://b': { ok: false, code: 'HTTP_429', retry: true },
      'http://c': { ok: true, code: 'OK', retry: false, hash: 'h' },
    });
    const res = await submitToConsortium(chain, submitter, 'chain', [node('a', {}), node('b', {}), node('c', {})], g);
    expect(res).toMatchObject({ ok: true, hash: 'h' });
    expect(chain.calls).toEqual(['http://a', 'http://b', 'http://c']);
  });

  it('a tx accepted and pending on one node is not sent to another', async () => {
    const chain = new Nodes({ 'http://a': { ok: false, code: 'NOT_COMMITTED_YET', retry: true } });
    const res = await submitToConsortium(chain, submitter, 'chain', [node('a', {}), node('b', {})], g);
    expect(res.code).toBe('NOT_COMMITTED_YET');
    expect(chain.calls).toEqual(['http://a']);
  });

  it('a refusal by the chain is final; trying stops after SUBMIT_TARGETS_MAX unreachable nodes', async () => {
    const refused = new Nodes({ 'http://a': { ok: false, code: 'GOV_THRESHOLD_NOT_MET', retry: false } });
    expect((await submitToConsortium(refused, submitter, 'chain', [node('a', {}), node('b', {})], g)).code).toBe(
      'GOV_THRESHOLD_NOT_MET',
    );
    expect(refused.calls).toEqual(['http://a']);
    const ids = Array.from({ length: SUBMIT_TARGETS_MAX + 2 }, (_, i) => `n${i}`);
    const down = new Nodes(Object.fromEntries(ids.map((id) => [`http://${id}`, new Error('timeout')])));
    const res = await submitToConsortium(
      down,
      submitter,
      'chain',
      ids.map((id) => node(id, {})),
      g,
    );
    expect(res).toMatchObject({ ok: false, code: 'SUBMIT_FAILED', retry: true });
    expect(down.calls).toHaveLength(SUBMIT_TARGETS_MAX);
  });

  it('no running node: retry later', async () => {
    const res = await submitToConsortium(
      new Nodes({}),
      submitter,
      'chain',
      [node('p', { phase: 'Provisioning', ready: false })],
      g,
    );
    expect(res).toMatchObject({ ok: false, code: 'NO_READY_NODE', retry: true });
  });
});
