/**
 * Desired NodeSpec for a node record. The spec's content hash decides when `generation`
 * is bumped, so a runtime sees a new generation exactly when something it runs changed.
 */
import { createHash } from 'node:crypto';
import { sealedGenesisJson } from '../domain/genesis.js';
import { canonicalJson } from '../domain/transcript.js';
import type { Ceremony, Consortium, NodeRecord } from '../domain/types.js';
import type { NodeSpec, PeerRef } from '../runtimes/runtime.js';

export function peersFor(node: NodeRecord, all: NodeRecord[]): PeerRef[] {
  return all
    .filter((n) => n.id !== node.id && n.desired === 'present' && n.status.identity?.verified && n.status.endpoints?.p2p)
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
    peers: run ? peersFor(node, all) : [],
  };
}

export function specHash(spec: Omit<NodeSpec, 'generation'>): string {
  return createHash('sha256').update(canonicalJson(spec), 'utf8').digest('hex');
}
