/** Pure Tendermint BFT state machine: step(state, input) -> { state, effects }. No I/O. */
export type {
  Validator,
  VoteType,
  RoundStep,
  Step,
  Vote,
  ConsensusTimeouts,
  ConsensusConfig,
  StartInput,
  ProposalInput,
  VoteInput,
  TimeoutInput,
  ProposalReadyInput,
  RestoreInput,
  ConsensusInput,
  BuildProposalEffect,
  BroadcastProposalEffect,
  SignVoteEffect,
  ScheduleTimeoutEffect,
  CommitEffect,
  EvidenceEffect,
  ConsensusEffect,
  ProposalRecord,
  RoundVotes,
  SignFloor,
  ConsensusState,
  StepResult,
} from './types.js';
export { initialState, step } from './machine.js';
export { proposerFor } from './proposer.js';
export { DEFAULT_TIMEOUTS, resolveTimeouts, timeoutFor } from './timeouts.js';
export {
  totalPower,
  quorumPower,
  oneThirdPower,
  hasQuorum,
  hasOneThird,
  maxFaulty,
  normalizeValidators,
} from './quorum.js';
export { ConsensusCodes } from './errors.js';
