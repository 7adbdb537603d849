/**
 * Desired NodeSpec for a node record. The spec's content hash decides when `generation`
 * is bumped, so a runtime sees a new generation exactly when something it runs changed.
 */
import { createHash, createHmac } from 'node:crypto';
import { sealedGenesisJson } from '../domain/genesis.js';
import { canonicalJson } from '../domain/transcript.js';
import type { Ceremony, Consortium, NodeRecord } from '../domain/types.js';
import type { ExpectedGenesis, NodeKeySpec, NodeSpec, PeerRef } from '../runtimes/runtime.js';

/**
 * Running full nodes admitted before `node`. Each pair of nodes needs one dialer (the P2P layer
 * accepts inbound connections from any registered key): genesis nodes dial each other; a node
 * admitted later dials the genesis nodes and the nodes admitted before it, and is never listed by
 * them — so admitting a node never changes the spec of (and so never restarts) running nodes.
 * A light node has no P2P listener and serves no history: it is never on the list.
 */
function admittedBefore(node: NodeRecord, all: NodeRecord[], ceremony?: Ceremony): NodeRecord[] {
  const genesis = new Set(ceremony?.nodeIds ?? []);
  const before = (n: NodeRecord): boolean =>
    genesis.has(n.id) ||
    (!genesis.has(node.id) && (n.createdAt < node.createdAt || (n.createdAt === node.createdAt && n.id < node.id)));
  return all
    .filter(
      (n) =>
        n.id !== node.id &&
        n.role !== 'light' &&
        n.desired === 'present' &&
        n.mode === 'run' &&
        n.status.identity?.verified &&
        n.status.endpoints?.p2p &&
        before(n),
    )
    .sort((a, b) => a.status.identity!.publicKey.localeCompare(b.status.identity!.publicKey));
}

/** Whom a node dials. */
export function peersFor(node: NodeRecord, all: NodeRecord[], ceremony?: Ceremony): PeerRef[] {
  return admittedBefore(node, all, ceremony).map((n) => ({
    publicKey: n.status.identity!.publicKey,
    address: n.status.endpoints!.p2p,
  }));
}

/**
 * Node APIs a light node follows, or an ordinary node admitted after genesis takes its verified
 * snapshot from (instead of replaying history).
 */
export function syncSourcesFor(node: NodeRecord, all: NodeRecord[], ceremony?: Ceremony): string[] {
  const joinsLate = node.role === 'light' || (node.role === 'ordinary' && !(ceremony?.nodeIds ?? []).includes(node.id));
  return joinsLate
    ? admittedBefore(node, all, ceremony).map((n) => n.status.endpoints!.peerApi ?? n.status.endpoints!.api)
    : [];
}

/** A founding member as a node must see it in its genesis: member id and the admin keys it may have there. */
export interface FounderKeys {
  memberId: string;
  adminKeys: string[];
}

/**
 * The genesis a node may accept (its config `expectedGenesis`, src/node/genesis-policy.ts), as
 * strong as what is known when the spec is built:
 *  - sealed ceremony: its exact genesis hash (a node in 'run' mode, or one joining after genesis);
 *  - before that: the founders (the assembled genesis' members once assembled, else the consortium's
 *    active members with their organizations' admin keys) and the node itself listed in it. Every
 *    member must approve a genesis, so nobody without the founders' keys can seal one the node takes.
 */
export function expectedGenesisFor(ceremony: Ceremony | undefined, founders: FounderKeys[] = []): ExpectedGenesis {
  if (ceremony?.status === 'SEALED' && ceremony.genesisHash) return { hash: ceremony.genesisHash };
  const members = (ceremony?.genesis?.members ?? founders)
    .map((m) => ({ memberId: m.memberId, adminKeys: [...new Set(m.adminKeys.map((k) => k.toLowerCase()))].sort() }))
    .filter((m) => m.adminKeys.length > 0)
    .sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
  return { ...(members.length > 0 ? { members } : {}), includesSelf: true };
}

export function buildSpec(
  node: NodeRecord,
  c: Consortium,
  ceremony: Ceremony | undefined,
  all: NodeRecord[],
  image?: string,
  extra: { founders?: FounderKeys[]; adminToken?: string; key?: NodeKeySpec; keyPin?: string } = {},
): Omit<NodeSpec, 'generation'> {
  const run = node.mode === 'run' && ceremony?.status === 'SEALED';
  const syncFrom = run ? syncSourcesFor(node, all, ceremony) : [];
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
    ...(syncFrom.length > 0 ? { syncFrom } : {}),
    expectedGenesis: expectedGenesisFor(ceremony, extra.founders),
    ...(extra.adminToken !== undefined ? { adminToken: extra.adminToken } : {}),
    ...(extra.key !== undefined ? { key: extra.key } : {}),
    ...(extra.keyPin !== undefined ? { keyPin: extra.keyPin } : {}),
  };
}

/**
 * The content hash of a spec, stored in the node record. A PKCS#11 PIN is short enough to guess from
 * a plain hash of it, so it enters only through an HMAC under `secretKey` (the node-secrets key);
 * without one, a PIN change alone does not re-apply the node.
 */
export function specHash(spec: Omit<NodeSpec, 'generation'>, secretKey?: Buffer): string {
  const { keyPin, ...rest } = spec;
  const pinTag =
    keyPin !== undefined && secretKey !== undefined
      ? createHmac('sha256', secretKey).update(`key-pin\0${keyPin}`, 'utf8').digest('hex')
      : undefined;
  const hashed = pinTag !== undefined ? { ...rest, keyPinTag: pinTag } : rest;
  return createHash('sha256').update(canonicalJson(hashed), 'utf8').digest('hex');
}
