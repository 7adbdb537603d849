import type { ConsensusState, RoundVotes, Vote } from './types.js';

/**
 * Copy of a state for step() to mutate. Cheaper than structuredClone: objects that step never
 * mutates in place (timeouts, validators, powerOf, proposal records, Vote objects, signFloor,
 * pendingRestore, decision) are shared; every container step writes into is copied.
 */
export function cloneState(s: ConsensusState): ConsensusState {
  const votes: Record<string, RoundVotes> = {};
  for (const [round, rv] of Object.entries(s.votes)) {
    votes[round] = { prevote: copySlot(rv.prevote), precommit: copySlot(rv.precommit) };
  }
  return {
    ...s,
    proposals: { ...s.proposals },
    votes,
    blockValidity: { ...s.blockValidity },
    signed: { ...s.signed },
    proposed: { ...s.proposed },
    fired: { ...s.fired },
    evidenceSeen: { ...s.evidenceSeen },
    nextHeightVotes: s.nextHeightVotes.slice(),
    absent: { ...s.absent },
  };
}

function copySlot(slot: Record<string, Vote[]>): Record<string, Vote[]> {
  const c: Record<string, Vote[]> = {};
  for (const [id, list] of Object.entries(slot)) c[id] = list.slice();
  return c;
}
