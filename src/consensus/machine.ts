/**
 * step(state, input) -> { state, effects }: the pure entry point. The input state is never
 * mutated (step works on a copy, see clone.ts); a duplicate vote or an ignored input returns
 * the same state object with no effects. Malformed inputs are ignored, never thrown on;
 * only `start` with an invalid validator set throws (a programming error in the caller).
 */
import type {
  ConsensusConfig,
  ConsensusEffect,
  ConsensusInput,
  ConsensusState,
  ProposalInput,
  ProposalReadyInput,
  RestoreInput,
  RoundStep,
  StartInput,
  StepResult,
  TimeoutInput,
  Vote,
} from './types.js';
import { normalizeValidators, totalPower } from './quorum.js';
import { proposerForSorted } from './proposer.js';
import { resolveTimeouts } from './timeouts.js';
import { cloneState } from './clone.js';
import { MAX_ROUNDS_AHEAD, addVote, bufferNextHeightVote, isDuplicateVote, isWellFormedVote } from './votes.js';
import { castVote, evaluate, scheduleTimeout, startRound, stepOrder } from './rules.js';

export function initialState(config: ConsensusConfig = {}): ConsensusState {
  return {
    timeouts: resolveTimeouts(config.timeouts),
    height: 0,
    round: 0,
    step: 'idle',
    validators: [],
    totalPower: 0,
    powerOf: {},
    self: null,
    lastCommitRound: null,
    lockedValue: null,
    lockedRound: -1,
    validValue: null,
    validRound: -1,
    proposals: {},
    votes: {},
    blockValidity: {},
    signed: {},
    proposed: {},
    fired: {},
    evidenceSeen: {},
    nextHeightVotes: [],
    signFloor: null,
    absent: {},
    pendingRestore: null,
    decision: null,
  };
}

const isRound = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const isRoundStep = (x: unknown): boolean => x === 'propose' || x === 'prevote' || x === 'precommit';
const running = (s: ConsensusState): boolean => s.step !== 'idle' && s.step !== 'commit';

export function step(state: ConsensusState, input: ConsensusInput): StepResult {
  const unchanged: StepResult = { state, effects: [] };
  if (typeof input !== 'object' || input === null) return unchanged;
  // Fast path: re-gossiped votes are the bulk of traffic; skip the clone for exact duplicates.
  if (input.kind === 'vote' && isWellFormedVote(input.vote) && isDuplicateVote(state, input.vote)) return unchanged;
  const s = cloneState(state);
  const out: ConsensusEffect[] = [];
  switch (input.kind) {
    case 'start':
      onStart(s, input, out);
      break;
    case 'proposal':
      onProposal(s, input);
      break;
    case 'vote':
      onVote(s, input.vote, out);
      break;
    case 'timeout':
      onTimeout(s, input, out);
      break;
    case 'proposalReady':
      onProposalReady(s, input, out);
      break;
    case 'restore':
      onRestore(s, input, out);
      break;
    default:
      return unchanged;
  }
  evaluate(s, out);
  return { state: s, effects: out };
}

function onStart(s: ConsensusState, input: StartInput, out: ConsensusEffect[]): void {
  if (!isRound(input.height)) return;
  if (s.step !== 'idle' && input.height <= s.height) return;
  const validators = normalizeValidators(input.validators);
  const buffered = s.nextHeightVotes.filter((v) => v.height === input.height);
  s.height = input.height;
  s.validators = validators;
  s.totalPower = totalPower(validators);
  s.powerOf = Object.fromEntries(validators.map((v) => [v.id, v.power]));
  s.self = input.self !== null && s.powerOf[input.self] !== undefined ? input.self : null;
  s.lastCommitRound = isRound(input.lastCommitRound) ? input.lastCommitRound : null;
  s.lockedValue = null;
  s.lockedRound = -1;
  s.validValue = null;
  s.validRound = -1;
  s.proposals = {};
  s.votes = {};
  s.blockValidity = {};
  s.signed = {};
  s.proposed = {};
  s.fired = {};
  s.evidenceSeen = {};
  s.nextHeightVotes = [];
  s.decision = null;
  // Suspicions carry over heights (an absent validator stays absent), for the validators still in the set.
  s.absent = Object.fromEntries(
    Object.keys(s.absent)
      .filter((id) => s.powerOf[id] !== undefined)
      .map((id) => [id, true as const]),
  );
  startRound(s, 0, out);
  const rest = s.pendingRestore;
  s.pendingRestore = null;
  if (rest && rest.height === s.height) applyRestore(s, rest, out);
  for (const v of buffered) if (s.powerOf[v.validator] !== undefined) addVote(s, v, out);
}

function onProposal(s: ConsensusState, p: ProposalInput): void {
  if (!running(s) || p.height !== s.height || !isRound(p.round)) return;
  if (!Number.isSafeInteger(p.polRound) || p.polRound < -1 || p.polRound >= p.round) return;
  if (typeof p.blockHash !== 'string' || p.blockHash.length === 0 || typeof p.valid !== 'boolean') return;
  if (p.round > s.round + MAX_ROUNDS_AHEAD) return;
  if (p.proposer !== proposerForSorted(s.validators, s.height, p.round)) return;
  delete s.absent[p.proposer]; // it is heard from
  // First proposal of a round wins; a second one from the same proposer is ignored.
  if (s.proposals[p.round]) return;
  s.proposals[p.round] = { blockHash: p.blockHash, polRound: p.polRound, proposer: p.proposer, valid: p.valid };
  s.blockValidity[p.blockHash] = s.blockValidity[p.blockHash] === true || p.valid;
}

function onVote(s: ConsensusState, v: Vote, out: ConsensusEffect[]): void {
  if (!isWellFormedVote(v) || s.step === 'idle') return;
  if (v.height === s.height + 1) {
    delete s.absent[v.validator]; // it is heard from (and ahead of us)
    bufferNextHeightVote(s, v);
    return;
  }
  if (v.height !== s.height || s.step === 'commit') return;
  if (s.powerOf[v.validator] === undefined || v.round > s.round + MAX_ROUNDS_AHEAD) return;
  delete s.absent[v.validator];
  addVote(s, v, out);
}

function onTimeout(s: ConsensusState, t: TimeoutInput, out: ConsensusEffect[]): void {
  if (!running(s) || t.height !== s.height || t.round !== s.round) return;
  if (t.step === 'propose' && s.step === 'propose') {
    // No proposal by the timeout: its proposer is suspected absent until a message of it arrives.
    const proposer = proposerForSorted(s.validators, s.height, s.round);
    if (!s.proposals[s.round] && proposer !== s.self) s.absent[proposer] = true;
    castVote(s, 'prevote', null, out); // line 57-60
    s.step = 'prevote';
  } else if (t.step === 'prevote' && s.step === 'prevote') {
    castVote(s, 'precommit', null, out); // lines 61-64
    s.step = 'precommit';
  } else if (t.step === 'precommit') {
    startRound(s, s.round + 1, out); // lines 65-67
  }
}

function onProposalReady(s: ConsensusState, p: ProposalReadyInput, out: ConsensusEffect[]): void {
  if (!running(s) || p.height !== s.height || p.round !== s.round || s.step !== 'propose') return;
  if (typeof p.blockHash !== 'string' || p.blockHash.length === 0) return;
  if (!s.proposed[p.round] || s.proposals[p.round] || s.self === null) return;
  s.proposals[p.round] = { blockHash: p.blockHash, polRound: -1, proposer: s.self, valid: true };
  s.blockValidity[p.blockHash] = true;
  out.push({ kind: 'broadcastProposal', height: s.height, round: p.round, blockHash: p.blockHash, polRound: -1 });
}

function onRestore(s: ConsensusState, r: RestoreInput, out: ConsensusEffect[]): void {
  if (!isRound(r.height) || !isRound(r.round) || !isRoundStep(r.step)) return;
  if (r.votes !== undefined && !Array.isArray(r.votes)) return;
  const f = s.signFloor;
  const higher =
    !f ||
    r.height > f.height ||
    (r.height === f.height && (r.round > f.round || (r.round === f.round && stepOrder(r.step) > stepOrder(f.step))));
  if (higher) s.signFloor = { height: r.height, round: r.round, step: r.step };
  const rest = { height: r.height, round: r.round, step: r.step, votes: (r.votes ?? []).filter(isWellFormedVote) };
  if (running(s) && r.height === s.height) applyRestore(s, rest, out);
  else if (s.step === 'idle' || r.height > s.height) s.pendingRestore = rest;
}

/** Re-counts our own persisted votes, restores the lock they imply, resumes at the restored round/step. */
function applyRestore(
  s: ConsensusState,
  r: NonNullable<ConsensusState['pendingRestore']>,
  out: ConsensusEffect[],
): void {
  for (const v of r.votes) {
    if (v.height !== s.height || v.validator !== s.self) continue;
    addVote(s, v, out);
    s.signed[`${v.round}/${v.type}`] = v.blockHash ?? '';
    if (v.type === 'precommit' && v.blockHash !== null && v.round > s.lockedRound) {
      s.lockedValue = v.blockHash;
      s.lockedRound = v.round;
    }
  }
  const cur = s.step as RoundStep;
  if (r.round > s.round || (r.round === s.round && stepOrder(r.step) > stepOrder(cur))) {
    s.round = r.round;
    s.step = r.step;
    // Its timeout keeps the node live although it will not sign again at this step.
    scheduleTimeout(s, r.step, out);
  }
}
