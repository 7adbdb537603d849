/**
 * Proposal outcome by the consortium's voting policy (AWS Managed Blockchain semantics):
 * the threshold is over ALL eligible members, not over votes cast. APPROVED as soon as
 * YES meets it, REJECTED as soon as it can no longer be met, EXPIRED at expiresAt.
 * The comparison itself is the chain's tallyPasses so control plane and chain agree.
 */
import { tallyPasses } from './chain-port.js';
import type { Proposal, VotingPolicyRecord } from './types.js';

export type Outcome = 'IN_PROGRESS' | 'APPROVED' | 'REJECTED';

export function decide(policy: VotingPolicyRecord, yes: number, no: number, members: number): Outcome {
  if (tallyPasses(policy, yes, members)) return 'APPROVED';
  const undecided = members - yes - no;
  if (!tallyPasses(policy, yes + Math.max(0, undecided), members)) return 'REJECTED';
  return 'IN_PROGRESS';
}

/**
 * An approved invitation the invitee has not answered yet: it executes only once accepted (as in AWS
 * Managed Blockchain, an invited organization chooses to join). Votes and the answer share one deadline.
 */
export function awaitsAcceptance(p: Pick<Proposal, 'status' | 'invitation'>): boolean {
  return p.status === 'APPROVED' && p.invitation?.status === 'PENDING';
}

/** A proposal is expired when now >= expiresAt and it is still open (a vote AT expiresAt is too late). */
export function isExpired(p: Pick<Proposal, 'status' | 'expiresAt' | 'invitation'>, nowMs: number): boolean {
  return (p.status === 'IN_PROGRESS' || awaitsAcceptance(p)) && nowMs >= Date.parse(p.expiresAt);
}
