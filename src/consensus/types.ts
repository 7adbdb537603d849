/**
 * Types of the pure Tendermint state machine. Values are identified by block-hash hex
 * strings and validators by public-key hex strings, so this folder does not depend on
 * src/chain: the node maps these to chain types at its edge.
 * Everything here is plain JSON-serializable data (no Maps, no bigint, no class instances),
 * so a node can log or snapshot a ConsensusState as is.
 */

/** A validator of the current height: id = public key hex, power = positive safe integer. */
export interface Validator {
  id: string;
  power: number;
}

export type VoteType = 'prevote' | 'precommit';

/** The three steps of a round, in order. */
export type RoundStep = 'propose' | 'prevote' | 'precommit';

/** 'idle' before the first start; 'commit' after this height was decided (awaiting the next start). */
export type Step = 'idle' | RoundStep | 'commit';

/**
 * A vote. blockHash null = nil. `signature` is opaque to consensus (never inspected) and is
 * carried through to `commit.precommits` and `evidence`, so the node can build certificates.
 */
export interface Vote {
  type: VoteType;
  height: number;
  round: number;
  blockHash: string | null;
  validator: string;
  signature?: string;
}

/** Per-step timeout = base + delta * round (ms). */
export interface ConsensusTimeouts {
  proposeMs: number;
  proposeDeltaMs: number;
  /**
   * Base of the propose timeout in a round whose proposer is suspected absent (it let its last
   * turn time out and nothing of it has arrived since); it grows by proposeDeltaMs per round too
   * and never exceeds the normal propose timeout. See timeouts.ts for why this is safe.
   */
  proposeAbsentMs: number;
  prevoteMs: number;
  prevoteDeltaMs: number;
  precommitMs: number;
  precommitDeltaMs: number;
}

export interface ConsensusConfig {
  timeouts?: Partial<ConsensusTimeouts>;
}

// ---------------------------------------------------------------- inputs

export interface StartInput {
  kind: 'start';
  height: number;
  validators: Validator[];
  /** This node's validator id, or null for a non-voting (follower) node. */
  self: string | null;
  /** Round in which the previous height was committed (informational; kept in state). */
  lastCommitRound?: number;
}

export interface ProposalInput {
  kind: 'proposal';
  height: number;
  round: number;
  blockHash: string;
  /** Proof-of-lock round carried by the proposal (-1 = none). */
  polRound: number;
  proposer: string;
  /** The node's verdict after validating the block and the proposal signature. */
  valid: boolean;
}

export interface VoteInput {
  kind: 'vote';
  vote: Vote;
}

export interface TimeoutInput {
  kind: 'timeout';
  height: number;
  round: number;
  step: RoundStep;
}

export interface ProposalReadyInput {
  kind: 'proposalReady';
  height: number;
  round: number;
  blockHash: string;
}

/**
 * After a restart: what this node last signed at `height` (from its persisted record), and
 * optionally its own signed votes at that height. Give it BEFORE the `start` of that height
 * (so even the round-0 proposal respects it); given after, it applies at once.
 * The machine will never sign at (height, r, step) <= (height, round, step) again, resumes in
 * `round`, and re-counts the given votes (restoring the lock from its own precommits).
 */
export interface RestoreInput {
  kind: 'restore';
  height: number;
  round: number;
  step: RoundStep;
  votes?: Vote[];
}

export type ConsensusInput = StartInput | ProposalInput | VoteInput | TimeoutInput | ProposalReadyInput | RestoreInput;

// ---------------------------------------------------------------- effects

/** Build a new block for (height, round) and answer with a `proposalReady` input. */
export interface BuildProposalEffect {
  kind: 'buildProposal';
  height: number;
  round: number;
}

/** Sign and broadcast a proposal of `blockHash` (already known to the node). */
export interface BroadcastProposalEffect {
  kind: 'broadcastProposal';
  height: number;
  round: number;
  blockHash: string;
  polRound: number;
}

/** Persist last-signed (height, round, type) durably, THEN sign and broadcast this vote. */
export interface SignVoteEffect {
  kind: 'signVote';
  vote: Vote;
}

/** Feed back `{kind:'timeout', height, round, step}` after durationMs. */
export interface ScheduleTimeoutEffect {
  kind: 'scheduleTimeout';
  height: number;
  round: number;
  step: RoundStep;
  durationMs: number;
}

/** The height is decided: precommits holds every precommit seen for blockHash in round (>2/3 power). */
export interface CommitEffect {
  kind: 'commit';
  height: number;
  round: number;
  blockHash: string;
  precommits: Vote[];
}

/** Two different votes by one validator for the same (height, round, type). Emitted once per pair. */
export interface EvidenceEffect {
  kind: 'evidence';
  a: Vote;
  b: Vote;
}

export type ConsensusEffect =
  | BuildProposalEffect
  | BroadcastProposalEffect
  | SignVoteEffect
  | ScheduleTimeoutEffect
  | CommitEffect
  | EvidenceEffect;

// ---------------------------------------------------------------- state

export interface ProposalRecord {
  blockHash: string;
  polRound: number;
  proposer: string;
  valid: boolean;
}

/**
 * Votes of one round by validator id. Index 0 is the validator's first vote; later entries are
 * conflicting votes (equivocation) kept, bounded, when their value is nil or a proposed block:
 * like the paper's message sets, every distinct signed message counts toward its own value, so
 * an honest node can see the same polka another honest node saw through a Byzantine's twin vote.
 */
export interface RoundVotes {
  prevote: Record<string, Vote[]>;
  precommit: Record<string, Vote[]>;
}

/** Never sign at or below this (height, round, step); set by `restore`. */
export interface SignFloor {
  height: number;
  round: number;
  step: RoundStep;
}

export interface ConsensusState {
  timeouts: ConsensusTimeouts;
  height: number;
  round: number;
  step: Step;
  /** Sorted by id. */
  validators: Validator[];
  totalPower: number;
  /** Power by validator id (lookup for tallies). */
  powerOf: Record<string, number>;
  /** This node's id when it is in the validator set, else null (follower). */
  self: string | null;
  lastCommitRound: number | null;
  lockedValue: string | null;
  lockedRound: number;
  validValue: string | null;
  validRound: number;
  /** Proposals of this height by round (first one from the round's proposer wins). */
  proposals: Record<string, ProposalRecord>;
  /** Votes of this height by round, then by validator id (conflicts -> evidence). */
  votes: Record<string, RoundVotes>;
  /** Validity verdicts of blocks seen in proposals at this height, by hash. */
  blockValidity: Record<string, boolean>;
  /** What this node signed at this height: `${round}/${type}` -> blockHash ('' = nil). */
  signed: Record<string, string>;
  /** Rounds in which this node already proposed or asked for a block: round -> true. */
  proposed: Record<string, true>;
  /** Fired-once markers: `${rule}/${round}` -> true. */
  fired: Record<string, true>;
  /** Evidence pairs already reported: `${validator}/${round}/${type}/${hashA}/${hashB}`. */
  evidenceSeen: Record<string, true>;
  /** Buffered votes for height + 1 (bounded), replayed on the next `start`. */
  nextHeightVotes: Vote[];
  signFloor: SignFloor | null;
  /**
   * Validators suspected absent: each let a turn of its as proposer time out here (no proposal by
   * its propose timeout) and no vote or proposal of it has arrived since. Kept across heights;
   * only shortens the propose timeout of the rounds it proposes (liveness only).
   */
  absent: Record<string, true>;
  /** A restore given before `start` of its height, applied by that start. */
  pendingRestore: { height: number; round: number; step: RoundStep; votes: Vote[] } | null;
  decision: { round: number; blockHash: string } | null;
}

export interface StepResult {
  state: ConsensusState;
  effects: ConsensusEffect[];
}
