/**
 * Moves a key ceremony forward: COLLECTING_KEYS -> (every ceremony node reported a verified
 * identity) -> genesis assembled, AWAITING_APPROVALS -> (every founding member signed the
 * genesis hash) -> SEALED, after which every node of the consortium runs with the sealed
 * genesis. Each step is appended to the hash-chained transcript in the same batch.
 */
import { assembleGenesis, genesisHashHex } from '../domain/genesis.js';
import type { ChangeBus } from '../domain/events.js';
import { appendEntry } from '../domain/transcript.js';
import type { Ceremony } from '../domain/types.js';
import { recordChange, repositories, type LevelStore, type Repositories } from '../store/index.js';

export interface CeremonyDeps {
  store: LevelStore;
  bus: ChangeBus;
  now: () => number;
}

export function pendingNodes(c: Ceremony, verified: Set<string>): string[] {
  return c.nodeIds.filter((id) => !verified.has(id));
}

export function pendingApprovals(c: Ceremony): string[] {
  if (!c.genesis) return [];
  return c.genesis.members.map((m) => m.memberId).filter((id) => !c.approvals.some((a) => a.memberId === id));
}

/** Assembles genesis once every ceremony node has a verified identity. Returns the ceremony (possibly unchanged). */
export async function advanceCeremony(deps: CeremonyDeps, cid: string): Promise<Ceremony | undefined> {
  return deps.store.transact(async (uow) => {
    const repo = repositories(uow);
    const cer = await repo.ceremonies.get(cid);
    if (!cer || cer.status !== 'COLLECTING_KEYS') return cer;
    const cons = await repo.consortia.get(cid);
    if (!cons) return cer;
    const nodes = [];
    for (const id of cer.nodeIds) {
      const n = await repo.nodes.get(cid, id);
      if (!n || n.desired === 'deleted') continue; // a node deleted mid-ceremony is left out
      if (!n.status.identity?.verified) return cer;
      nodes.push(n);
    }
    if (!nodes.some((n) => n.role === 'validator')) return cer;
    const members = [];
    for (const m of (await deps.store.all<{ memberId: string; status: string }>(`member/${cid}/`)).filter(
      (x) => x.status === 'ACTIVE',
    )) {
      const member = await repo.members.get(cid, m.memberId);
      const org = await repo.orgs.get(m.memberId);
      if (member && org) members.push({ member, org });
    }
    const now = deps.now();
    const at = new Date(now).toISOString();
    const genesis = assembleGenesis(cons, members, nodes, now);
    const hash = genesisHashHex(genesis);
    let transcript = cer.transcript;
    for (const n of nodes) {
      transcript = appendEntry(transcript, 'identity.reported', at, {
        nodeId: n.id,
        orgId: n.orgId,
        role: n.role,
        publicKey: n.status.identity!.publicKey,
        proofOfPossession: n.status.identity!.proofOfPossession,
      });
    }
    transcript = appendEntry(transcript, 'genesis.assembled', at, { genesisHash: hash, genesis });
    const saved = await repo.ceremonies.put({
      ...cer,
      status: 'AWAITING_APPROVALS',
      genesis,
      genesisHash: hash,
      transcript,
    });
    await recordChange(uow, deps.bus, now, {
      actor: 'control-plane',
      type: 'ceremony.awaiting_approvals',
      resource: `consortia/${cid}/ceremony`,
      orgIds: genesis.members.map((m) => m.memberId),
      data: { status: saved.status, genesisHash: hash },
    });
    return saved;
  });
}

/** Called inside the approval batch once every founder approved: seal and switch all nodes to 'run'. */
export async function sealCeremony(deps: CeremonyDeps, repo: Repositories, cer: Ceremony): Promise<Ceremony> {
  const now = deps.now();
  const at = new Date(now).toISOString();
  const transcript = appendEntry(cer.transcript, 'genesis.sealed', at, {
    genesisHash: cer.genesisHash,
    approvals: cer.approvals.map((a) => a.memberId),
  });
  const saved = await repo.ceremonies.put({ ...cer, status: 'SEALED', sealedAt: at, transcript });
  const cons = await repo.consortia.get(cer.consortiumId);
  if (cons) await repo.consortia.put({ ...cons, status: 'ACTIVE', updatedAt: at });
  for (const n of await deps.store.all<{ id: string }>(`node/${cer.consortiumId}/`)) {
    const node = await repo.nodes.get(cer.consortiumId, n.id);
    // a node outside the genesis runs only once admitted on chain (see domain/node-registration.ts)
    if (
      node &&
      node.desired === 'present' &&
      node.mode !== 'run' &&
      (!node.registration || node.registration.status === 'REGISTERED')
    ) {
      await repo.nodes.put({ ...node, mode: 'run' });
    }
  }
  await recordChange(repo.uow, deps.bus, now, {
    actor: 'control-plane',
    type: 'ceremony.sealed',
    resource: `consortia/${cer.consortiumId}/ceremony`,
    orgIds: cer.genesis?.members.map((m) => m.memberId) ?? [],
    data: { status: 'SEALED', genesisHash: cer.genesisHash },
  });
  return saved;
}
