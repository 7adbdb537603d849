import type { ConsensusTimeouts, RoundStep } from './types.js';
import { ConsensusCodes, consensusError } from './errors.js';

/** Defaults for ~1 s blocks on loopback. */
export const DEFAULT_TIMEOUTS: Readonly<ConsensusTimeouts> = Object.freeze({
  proposeMs: 1000,
  proposeDeltaMs: 500,
  proposeAbsentMs: 250,
  prevoteMs: 500,
  prevoteDeltaMs: 250,
  precommitMs: 500,
  precommitDeltaMs: 250,
});

/** Fills the defaults in; a key given as undefined keeps its default. */
export function resolveTimeouts(partial?: Partial<ConsensusTimeouts>): ConsensusTimeouts {
  const t: ConsensusTimeouts = { ...DEFAULT_TIMEOUTS };
  for (const [k, v] of Object.entries(partial ?? {}))
    if (v !== undefined) (t as unknown as Record<string, unknown>)[k] = v;
  for (const [k, v] of Object.entries(t)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw consensusError(ConsensusCodes.INVALID_CONFIG, `timeout ${k} must be a non-negative number`, { [k]: v });
    }
  }
  return t;
}

/** Timeouts grow linearly with the round so that, after GST, some round is long enough. */
export function timeoutFor(t: ConsensusTimeouts, step: RoundStep, round: number): number {
  switch (step) {
    case 'propose':
      return t.proposeMs + t.proposeDeltaMs * round;
    case 'prevote':
      return t.prevoteMs + t.prevoteDeltaMs * round;
    case 'precommit':
      return t.precommitMs + t.precommitDeltaMs * round;
  }
}

/*
 * Less time lost to an absent proposer: two timeout-only shortcuts (rules.ts applies them).
 *
 * 1. The propose timeout of a round whose proposer is suspected absent (state.absent: it let its
 *    last turn time out here and no vote or proposal of it arrived since) is
 *    min(timeoutFor(propose, r), proposeAbsentMs + proposeDeltaMs * r) instead of the full one.
 * 2. The precommit timeout (lines 47-48) is 0 once the round cannot decide: 2f+1 precommits are
 *    in (the rule's own guard) and no block can reach a quorum of precommits in it any more
 *    (its best value plus the power not yet heard from is below the quorum): all the timeout
 *    could wait for is precommits that cannot change the outcome of the round.
 *
 * Why this is safe. Both only change WHEN a timeout input fires, never what the machine does when
 * it fires, nor any rule's guard. Tendermint's safety (no two honest nodes decide different
 * values; locks and POL rounds) is proven for an asynchronous network, in which an adversary
 * delays messages arbitrarily; a timeout firing early is indistinguishable from the messages it
 * waited for being delayed past it, so no choice of timeout durations can break agreement: the
 * quorum-intersection arguments never look at time. Proposer selection is untouched (still the
 * pure function of validator set, height and round in proposer.ts), so nodes cannot disagree on
 * who may propose; a node that suspects a proposer differently from another only waits a
 * different time, which the protocol tolerates like any clock or delay difference.
 * Liveness is kept: a shortened propose timeout still grows by proposeDeltaMs per round, so after
 * GST some round has a long enough timeout, as the original argument needs; suspicion ends with
 * the first message of the suspect, so an honest validator is never suspected for long after
 * GST (it votes every round), and a suspect's proposal that arrives late is still recorded and
 * used. Shortcut 2 moves to round r+1 only when round r cannot commit, and a decision of any round
 * is still taken whenever its precommits arrive (tryCommit scans every round).
 */
export function proposeTimeoutFor(t: ConsensusTimeouts, round: number, proposerAbsent: boolean): number {
  const full = timeoutFor(t, 'propose', round);
  return proposerAbsent ? Math.min(full, t.proposeAbsentMs + t.proposeDeltaMs * round) : full;
}
