/**
 * Closes expired proposals and executes approved ones. Once the consortium's chain runs
 * (ceremony SEALED), execution = a governance tx carrying the members' signed votes,
 * submitted to a ready node and signed by the control plane's submitter key (an account
 * with no authority of its own: the chain re-checks every vote and the threshold). Before
 * genesis the effect is applied to the control plane only (the members join genesis).
 */
import { fetch, type Dispatcher } from 'undici';
import type { Logger } from '../../lib/logging.js';
import { chainActionFromJson, votesForChain } from '../domain/governance.js';
import type { KeyPair } from '../domain/chain-port.js';
import type { ChangeBus } from '../domain/events.js';
import type { Consortium, Proposal } from '../domain/types.js';
import { awaitsAcceptance, isExpired } from '../domain/voting.js';
import type { ControlPlaneMetrics } from '../metrics.js';
import { queries, recordChange, repositories, type LevelStore, type Repositories } from '../store/index.js';
import { submitToConsortium } from './governance-submit.js';
import type { ChainClient, SubmitResult } from './chain-client.js';
import { registerSignedNodes } from './node-registrar.js';

export interface GovernanceWorkerDeps {
  store: LevelStore;
  bus: ChangeBus;
  submitter: KeyPair;
  chain: ChainClient;
  metrics?: ControlPlaneMetrics;
  logger?: Logger;
  now?: () => number;
  /** An approved proposal that could not be submitted for this long ends EXECUTION_FAILED. */
  executionTimeoutMs?: number;
  /** Asks the node reconciler for a prompt pass (a node was admitted on chain and may start). */
  kickNodes?: () => void;
}

export async function applyEffects(repo: Repositories, p: Proposal, at: string): Promise<void> {
  const cid = p.consortiumId;
  const a = p.chainAction;
  if (a.type === 'add_member') {
    const prior = await repo.members.get(cid, a.memberId);
    await repo.members.put({
      consortiumId: cid,
      memberId: a.memberId,
      orgId: a.memberId,
      name: a.name,
      status: 'ACTIVE',
      joinedAt: at,
      version: prior?.version ?? 0,
    });
    if (!(await repo.orgConsortia.get(a.memberId, cid)))
      await repo.orgConsortia.create({ orgId: a.memberId, consortiumId: cid, version: 0 });
  } else if (a.type === 'remove_member') {
    const m = await repo.members.get(cid, a.memberId);
    if (m) await repo.members.put({ ...m, status: 'REMOVED' });
    await repo.orgConsortia.del(a.memberId, cid);
  } else if (a.type === 'change_params') {
    const c = await repo.consortia.get(cid);
    if (c) {
      const { votingPolicy, ...rest } = a.params as Partial<Consortium['params']> & {
        votingPolicy?: Consortium['votingPolicy'];
      };
      await repo.consortia.put({
        ...c,
        params: { ...c.params, ...rest },
        ...(votingPolicy ? { votingPolicy } : {}),
        updatedAt: at,
      });
    }
  }
}

export class GovernanceWorker {
  private readonly q;
  private readonly now: () => number;

  constructor(private readonly deps: GovernanceWorkerDeps) {
    this.q = queries(deps.store);
    this.now = deps.now ?? Date.now;
  }

  async pass(): Promise<void> {
    const counts: Record<string, number> = {};
    for (const c of await this.q.allConsortia()) {
      for (const p of await this.q.allProposals(c.id)) {
        let cur = p;
        if (isExpired(p, this.now())) cur = (await this.finish(c, p, { status: 'EXPIRED' }, 'proposal.expired')) ?? p;
        else if (p.status === 'APPROVED' && !awaitsAcceptance(p)) cur = (await this.execute(c, p)) ?? p;
        counts[cur.status] = (counts[cur.status] ?? 0) + 1;
      }
    }
    await registerSignedNodes(this.deps);
    const g = this.deps.metrics?.proposals;
    if (g) {
      g.reset();
      for (const [status, n] of Object.entries(counts)) g.set({ status }, n);
    }
  }

  private async execute(c: Consortium, p: Proposal): Promise<Proposal | undefined> {
    const at = () => new Date(this.now()).toISOString();
    if (c.status !== 'ACTIVE') {
      return this.finish(
        c,
        p,
        { status: 'EXECUTED', execution: { onChain: false, attempts: 0, at: at() } },
        'proposal.executed',
        true,
      );
    }
    const attempts = (p.execution?.attempts ?? 0) + 1;
    const res = await submitToConsortium(
      this.deps.chain,
      this.deps.submitter,
      c.chainId,
      await this.q.consortiumNodes(c.id),
      {
        proposalId: p.id,
        action: chainActionFromJson(p.chainAction),
        votes: votesForChain(p.votes),
      },
    );
    const execution = {
      onChain: true,
      attempts,
      code: res.code,
      ...(res.hash ? { txHash: res.hash } : {}),
      ...(res.height !== undefined ? { height: res.height } : {}),
      ...(res.message ? { error: res.message } : {}),
      at: at(),
    };
    if (res.ok || res.code === 'GOV_ALREADY_EXECUTED')
      return this.finish(c, p, { status: 'EXECUTED', execution }, 'proposal.executed', true);
    // From when it became executable: approval, or the invitee's acceptance if that came later.
    const executableAt = Math.max(
      Date.parse(p.decidedAt ?? p.createdAt),
      p.invitation?.at ? Date.parse(p.invitation.at) : 0,
    );
    const timedOut = this.now() - executableAt > (this.deps.executionTimeoutMs ?? 300_000);
    if (res.retry && !timedOut) return this.finish(c, p, { execution }, undefined);
    return this.finish(c, p, { status: 'EXECUTION_FAILED', execution }, 'proposal.execution_failed');
  }

  private async finish(
    c: Consortium,
    p: Proposal,
    patch: Partial<Proposal>,
    eventType: string | undefined,
    effects = false,
  ): Promise<Proposal | undefined> {
    return this.deps.store.transact(async (uow) => {
      const repo = repositories(uow);
      const fresh = await repo.proposals.get(c.id, p.id);
      if (!fresh || fresh.status !== p.status) return fresh; // someone else moved it
      const at = new Date(this.now()).toISOString();
      const saved = await repo.proposals.put({ ...fresh, ...patch });
      if (effects) await applyEffects(repo, saved, at);
      if (eventType) {
        await recordChange(uow, this.deps.bus, this.now(), {
          actor: 'control-plane',
          type: eventType,
          resource: `consortia/${c.id}/proposals/${p.id}`,
          orgIds: [
            ...new Set([
              ...p.eligibleMemberIds,
              ...(p.chainAction.type === 'add_member' ? [p.chainAction.memberId] : []),
            ]),
          ],
          data: saved,
        });
      }
      return saved;
    });
  }
}

/**
 * ChainClient over the node HTTP API (docs/protocol.md#node-http-api). `dispatcher`: trusts the
 * node CA (main.ts), for nodes serving HTTPS with a certificate it signed.
 */
export function httpChainClient(timeoutMs = 20_000, dispatcher?: Dispatcher): ChainClient {
  const via = dispatcher ? { dispatcher } : {};
  return {
    async accountNonce(api, pk) {
      const r = await fetch(`${api}/v1/accounts/${pk}`, { signal: AbortSignal.timeout(5000), ...via });
      if (r.status === 404) return null;
      const j = (await r.json()) as { account?: { nonce?: number | string } | null };
      if (!r.ok) throw new Error(`account lookup failed: HTTP ${r.status}`);
      if (!j.account) return null;
      return Number(j.account.nonce ?? 0);
    },
    async submit(api, txHex) {
      const r = await fetch(`${api}/v1/txs?wait=commit&timeoutMs=${timeoutMs}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tx: txHex }),
        signal: AbortSignal.timeout(timeoutMs + 5000),
        ...via,
      });
      const j = (await r.json().catch(() => ({}))) as {
        hash?: string;
        status?: string;
        height?: number;
        code?: string;
        error?: { code?: string; message?: string };
      };
      if (r.status === 200 && j.status === 'committed') {
        return {
          ok: j.code === 'OK',
          code: j.code ?? 'OK',
          retry: false,
          ...(j.hash ? { hash: j.hash } : {}),
          ...(j.height !== undefined ? { height: j.height } : {}),
        };
      }
      if (r.status === 202)
        return { ok: false, code: 'NOT_COMMITTED_YET', retry: true, ...(j.hash ? { hash: j.hash } : {}) };
      const code = j.error?.code ?? `HTTP_${r.status}`;
      return {
        ok: false,
        code,
        retry: r.status >= 500 || r.status === 429,
        ...(j.error?.message ? { message: j.error.message } : {}),
      };
    },
  };
}
