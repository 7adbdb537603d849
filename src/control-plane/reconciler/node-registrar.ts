/**
 * Relays signed node registrations (domain/node-registration.ts) to the chain: a governance tx
 * register_node carrying the organization's one YES vote. Once the chain executed it, the node is
 * switched to 'run' (the reconciler hands it the sealed genesis and its peers). Retries while no node
 * is ready or the submission failed transiently; a refusal by the chain ends FAILED with its code.
 */
import type { Logger } from '../../lib/logging.js';
import { fromHex, type KeyPair } from '../domain/chain-port.js';
import type { ChangeBus } from '../domain/events.js';
import { chainActionFromJson } from '../domain/governance.js';
import type { NodeRecord, NodeRegistration } from '../domain/types.js';
import { queries, recordChange, repositories, type LevelStore } from '../store/index.js';
import { submitToConsortium } from './governance-submit.js';
import type { ChainClient } from './chain-client.js';

export interface NodeRegistrarDeps {
  store: LevelStore;
  bus: ChangeBus;
  submitter: KeyPair;
  chain: ChainClient;
  logger?: Logger;
  now?: () => number;
  kickNodes?: () => void;
}

export async function registerSignedNodes(deps: NodeRegistrarDeps): Promise<void> {
  const q = queries(deps.store);
  let admitted = false;
  for (const c of await q.allConsortia()) {
    if (c.status !== 'ACTIVE') continue;
    const nodes = await q.consortiumNodes(c.id);
    const signed = nodes.filter((n) => n.desired === 'present' && n.registration?.status === 'SIGNED');
    if (signed.length === 0) continue;
    for (const n of signed) {
      const reg = n.registration!;
      const v = reg.vote!;
      const res = await submitToConsortium(deps.chain, deps.submitter, c.chainId, nodes, {
        proposalId: reg.proposalId,
        action: chainActionFromJson(reg.action!),
        votes: [
          { memberId: v.memberId, adminKey: fromHex(v.adminKey, 32), vote: 'YES', signature: fromHex(v.signature, 64) },
        ],
      });
      const done = res.ok || res.code === 'GOV_ALREADY_EXECUTED';
      const next: NodeRegistration = {
        ...reg,
        status: done ? 'REGISTERED' : res.retry ? 'SIGNED' : 'FAILED',
        attempts: (reg.attempts ?? 0) + 1,
        code: res.code,
        ...(res.hash ? { txHash: res.hash } : {}),
        ...(res.height !== undefined ? { height: res.height } : {}),
        ...(res.message ? { error: res.message } : {}),
      };
      if (!done)
        deps.logger?.warn('node registration not executed', {
          nodeId: n.id,
          code: res.code,
          retry: res.retry,
          error: res.message,
        });
      if (await save(deps, n, next)) admitted ||= done;
    }
  }
  if (admitted) deps.kickNodes?.();
}

/** Fresh read-modify-write; skipped when the node moved on meanwhile (deleted, or registered by another pass). */
async function save(deps: NodeRegistrarDeps, node: NodeRecord, reg: NodeRegistration): Promise<boolean> {
  const now = (deps.now ?? Date.now)();
  return deps.store.transact(async (uow) => {
    const repo = repositories(uow);
    const fresh = await repo.nodes.get(node.consortiumId, node.id);
    if (!fresh || fresh.desired === 'deleted' || fresh.registration?.status !== 'SIGNED') return false;
    const saved = await repo.nodes.put({
      ...fresh,
      registration: reg,
      ...(reg.status === 'REGISTERED' ? { mode: 'run' as const } : {}),
    });
    if (reg.status !== 'SIGNED') {
      await recordChange(uow, deps.bus, now, {
        actor: 'control-plane',
        type: `node.registration_${reg.status.toLowerCase()}`,
        resource: `consortia/${node.consortiumId}/nodes/${node.id}`,
        orgIds: [node.orgId],
        data: saved,
      });
    }
    return true;
  });
}
