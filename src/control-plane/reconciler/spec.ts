/**
 * Desired NodeSpec for a node record. The spec's content hash decides when `generation`
 * is bumped, so a runtime sees a new generation exactly when something it runs changed.
 */
import { createHash } from 'node:crypto';
import { sealedGenesisJson } from '../domain/genesis.js';
import { canonicalJson } from '../domain/transcript.js';
import type { Ceremony, Consortium, NodeRecord } from '../domain/types.js';
import type { NodeSpec, PeerRef } from '../runtimes/runtime.js';

/**
 * Whom a node dials. Each pair needs one dialer (the P2P layer accepts inbound connections from any
 * registered key): genesis nodes dial each other; a node admitted later dials the genesis nodes and
 * the nodes admitted before it, and is never listed by them — so admitting a node never changes the
 * spec of (and so never restarts) the nodes already running.
 */
export function peersFor(node: NodeRecord, all: NodeRecord[], ceremony?: Ceremony): PeerRef[] {
  const genesis = new Set(ceremony?.nodeIds ?? []);
  const before = (n: NodeRecord): boolean =>
    genesis.has(n.id) || (!genesis.has(node.id) && (n.createdAt < node.createdAt || (n.createdAt === node.createdAt && n.id < node.id)));
  return all
    .filter((n) => n.id !== node.id && n.desired === 'present' && n.mode === 'run' && n.status.identity?.verified && n.status.endpoints?.p2p && before(n))
    .map((n) => ({ publicKey: n.status.identity!.publicKey, address: n.status.endpoints!.p2p }))
    .sort((a, b) => a.publicKey.localeCompare(b.publicKey));
}

export function buildSpec(node: NodeRecord, c: Consortium, ceremony: Ceremony | undefined, all: NodeRecord[], image?: string): Omit<NodeSpec, 'generation'> {
  const run = node.mode === 'run' && ceremony?.status === 'SEALED';
  return {
    nodeId: node.id,
    consortiumId: node.consortiumId,
    chainId: c.chainId,
    orgId: node.orgId,
    role: node.role,
    tier: node.tier,
    resources: node.resources,
    ...(image ? { image } : {}),
    mode: run ? 'run' : 'keygen',
    ...(run ? { genesis: sealedGenesisJson(ceremony) } : {}),
    // Peers matter only once the node runs consensus; in keygen mode they would only cause churn.
    peers: run ? peersFor(node, all, ceremony) : [],
  };
}

export function specHash(spec: Omit<NodeSpec, 'generation'>): string {
  return createHash('sha256').update(canonicalJson(spec), 'utf8').digest('hex');
}
