// Shared helpers for the consensus tests (not a test file itself).
import { initialState, step } from '../../src/consensus/index.js';
import type {
  ConsensusEffect,
  ConsensusInput,
  ConsensusState,
  Validator,
  Vote,
  VoteType,
} from '../../src/consensus/index.js';

export const V4: Validator[] = [
  { id: 'v0', power: 1 },
  { id: 'v1', power: 1 },
  { id: 'v2', power: 1 },
  { id: 'v3', power: 1 },
];

/** A node driven by hand: keeps state, collects every effect it ever emitted. */
export class Driver {
  state: ConsensusState;
  all: ConsensusEffect[] = [];
  constructor(state: ConsensusState = initialState()) {
    this.state = state;
  }
  feed(input: ConsensusInput): ConsensusEffect[] {
    const r = step(this.state, input);
    this.state = r.state;
    this.all.push(...r.effects);
    return r.effects;
  }
  votes(
    type: VoteType,
    round: number,
    blockHash: string | null,
    from: string[],
    height = this.state.height,
  ): ConsensusEffect[] {
    const out: ConsensusEffect[] = [];
    for (const validator of from)
      out.push(...this.feed({ kind: 'vote', vote: { type, height, round, blockHash, validator } }));
    return out;
  }
}

export function signed(effects: ConsensusEffect[]): Vote[] {
  return effects.flatMap((e) => (e.kind === 'signVote' ? [e.vote] : []));
}

export function ofKind<K extends ConsensusEffect['kind']>(
  effects: ConsensusEffect[],
  kind: K,
): Extract<ConsensusEffect, { kind: K }>[] {
  return effects.filter((e): e is Extract<ConsensusEffect, { kind: K }> => e.kind === kind);
}
