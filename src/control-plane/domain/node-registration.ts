/**
 * Admission of a node that is not in the genesis (docs/protocol.md#p2p: only nodes registered on chain for a
 * current member may connect). A non-validator node requested after the ceremony starts in keygen
 * mode; once it reports its key, its organization signs — client-side, with an admin key — a YES
 * vote over the chain action register_node(member, key, role) under a proposal id unique to the
 * node. The control plane only relays that signature; the chain verifies it (a member may admit its
 * own non-validator nodes). Validators join through an add_validator proposal instead.
 */
import { ConsortiaError } from '../../lib/errors.js';
import type { NodeRole } from '../runtimes/runtime.js';
import { CpCodes } from './errors.js';
import { actionHashHex, verifyVoteSignature } from './governance.js';
import type { Ceremony, NodeRecord, NodeRegistration } from './types.js';

export function registrationProposalId(nodeId: string): string {
  return `node-registration-${nodeId}`;
}

/** True when a node of this role, requested now, must be admitted on chain before it may join. */
export function needsRegistration(role: NodeRole, ceremony: Ceremony | undefined, nodeId?: string): boolean {
  if (role === 'validator' || !ceremony) return false; // before the ceremony every node goes into genesis
  return nodeId === undefined || !ceremony.nodeIds.includes(nodeId);
}

export function pendingRegistration(nodeId: string): NodeRegistration {
  return { status: 'AWAITING_IDENTITY', proposalId: registrationProposalId(nodeId) };
}

/** AWAITING_IDENTITY -> AWAITING_SIGNATURE once the node's own key is known (and verified). */
export function withIdentity(node: NodeRecord, publicKey: string): NodeRegistration {
  const reg = node.registration ?? pendingRegistration(node.id);
  const action = { type: 'register_node' as const, memberId: node.orgId, publicKey, role: node.role };
  return { ...reg, status: 'AWAITING_SIGNATURE', action, actionHash: actionHashHex(action) };
}

/** Checks a registration signature; throws INVALID_STATE / INVALID_SIGNATURE (nothing is changed). */
export function verifyRegistrationSignature(
  chainId: string,
  node: NodeRecord,
  adminKeys: string[],
  s: { adminKey: string; signature: string },
): void {
  const reg = node.registration;
  if (!reg || reg.status !== 'AWAITING_SIGNATURE' || !reg.actionHash) {
    throw new ConsortiaError(
      CpCodes.INVALID_STATE,
      `node ${node.id} is not awaiting a registration signature (${reg?.status ?? 'no registration needed'})`,
      {
        status: reg?.status ?? null,
      },
    );
  }
  if (!adminKeys.includes(s.adminKey)) {
    throw new ConsortiaError(CpCodes.INVALID_SIGNATURE, `adminKey is not an admin key of ${node.orgId}`, {
      field: 'adminKey',
    });
  }
  verifyVoteSignature(chainId, reg.proposalId, reg.actionHash, {
    adminKey: s.adminKey,
    vote: 'YES',
    signature: s.signature,
  });
}
