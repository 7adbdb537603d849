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
import { memberAdminKeys, memberAfterReplacement } from '../domain/admin-keys.js';
import { awaitsAcceptance, decide, isExpired } from '../domain/voting.js';
import type { ControlPlaneMetrics } from '../metrics.js';
import {
  queries,
  recordChange,
  repositories,
  type LevelStore,
  type Queries,
  type Repositories,
} from '../store/index.js';
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

/** `q` lists what a replace_admin_keys also updates (each record is then read again through `repo`). */
export async function applyEffects(repo: Repositories, p: Proposal, at: string, q?: Queries): Promise<void> {
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
  } else if (a.type === 'replace_admin_keys') {
    if (q) await replaceAdminKeys(repo, q, p, a, at);
  } else if (a.type === 'rotate_validator_key') {
    await recordValidatorKey(repo, p, a, at);
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

/**
 * The control plane's record follows the chain once replace_admin_keys executed: the member's keys
 * on this chain, the retired ones (refused from now on), and the organization's keys for what it
 * joins or signs next. Its other memberships keep the keys their chains still have; open proposals
 * drop the member's votes signed with a retired key (the chain would refuse them), so it can vote
 * again with its new key.
 */
async function replaceAdminKeys(
  repo: Repositories,
  q: Queries,
  p: Proposal,
  a: Extract<Proposal['chainAction'], { type: 'replace_admin_keys' }>,
  at: string,
): Promise<void> {
  const cid = p.consortiumId;
  const m = await repo.members.get(cid, a.memberId);
  if (!m) return;
  const org = await repo.orgs.get(a.memberId);
  const before = memberAdminKeys(m, org);
  const next = memberAfterReplacement(m, org, a.newAdminKeys, p.id, p.execution?.height, at);
  await repo.members.put(next);
  if (org) {
    for (const otherCid of await q.orgConsortiumIds(a.memberId)) {
      const other = otherCid === cid ? undefined : await repo.members.get(otherCid, a.memberId);
      // only a running chain holds the old keys; a forming consortium's genesis takes the organization's
      if (!other || other.adminKeys || (await repo.consortia.get(otherCid))?.status !== 'ACTIVE') continue;
      await repo.members.put({ ...other, adminKeys: [...org.adminPublicKeys] });
    }
    const retired = new Set(before.filter((k) => !a.newAdminKeys.includes(k)));
    const kept = org.adminPublicKeys.filter((k) => !retired.has(k));
    await repo.orgs.put({ ...org, adminPublicKeys: [...new Set([...kept, ...a.newAdminKeys])], updatedAt: at });
  }
  const retiredNow = new Set((next.retiredAdminKeys ?? []).map((r) => r.publicKey));
  const c = await repo.consortia.get(cid);
  for (const listed of await q.allProposals(cid)) {
    const open = listed.id === p.id ? undefined : await repo.proposals.get(cid, listed.id);
    if (open?.status !== 'IN_PROGRESS') continue;
    const votes = open.votes.filter((v) => !(v.memberId === a.memberId && retiredNow.has(v.adminKey)));
    if (votes.length === open.votes.length || !c) continue;
    const yes = votes.filter((v) => v.vote === 'YES').length;
    const status = decide(c.votingPolicy, yes, votes.length - yes, open.eligibleMemberIds.length);
    await repo.proposals.put({
      ...open,
      votes,
      yesVotes: yes,
      noVotes: votes.length - yes,
      status,
      ...(status !== 'IN_PROGRESS' ? { decidedAt: at } : {}),
    });
  }
}

/**
 * The node signs with the new key from the height after the one the rotation executed at
 * (src/chain/state/transition.ts): the node record says so, and the validator-set check of its
 * status (reconciler/node-status.ts) follows the key the node reports it signs with.
 */
async function recordValidatorKey(
  repo: Repositories,
  p: Proposal,
  a: Extract<Proposal['chainAction'], { type: 'rotate_validator_key' }>,
  at: string,
): Promise<void> {
  if (p.action.type !== 'rotate_validator_key') return;
  const n = await repo.nodes.get(p.consortiumId, p.action.nodeId);
  if (!n) return;
  const previous = [...(n.consensusKey?.previous ?? []), a.oldPublicKey];
  await repo.nodes.put({
    ...n,
    consensusKey: {
      publicKey: a.newPublicKey,
      previous,
      proposalId: p.id,
      ...(p.execution?.height !== undefined ? { height: p.execution.height } : {}),
      at,
    },
  });
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
      if (effects) await applyEffects(repo, saved, at, this.q);
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
