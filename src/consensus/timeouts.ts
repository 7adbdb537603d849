import type { ConsensusTimeouts, RoundStep } from './types.js';
import { ConsensusCodes, consensusError } from './errors.js';

/** Defaults for ~1 s blocks on loopback. */
export const DEFAULT_TIMEOUTS: Readonly<ConsensusTimeouts> = Object.freeze({
  proposeMs: 1000,
  proposeDeltaMs: 500,
  prevoteMs: 500,
  prevoteDeltaMs: 250,
  precommitMs: 500,
  precommitDeltaMs: 250,
});

export function resolveTimeouts(partial?: Partial<ConsensusTimeouts>): ConsensusTimeouts {
  const t: ConsensusTimeouts = { ...DEFAULT_TIMEOUTS, ...(partial ?? {}) };
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
