/**
 * The "upon" rules of Algorithm 1 in "The latest gossip on BFT consensus" (Buchman, Kwon,
 * Milosevic 2018). Line numbers in comments refer to that paper. All functions mutate the
 * draft state `s` (a private copy made by step()) and append effects to `out`.
 */
import type { ConsensusEffect, ConsensusState, RoundStep, VoteType } from './types.js';
import { hasOneThird, hasQuorum } from './quorum.js';
import { proposerForSorted } from './proposer.js';
import { proposeTimeoutFor, timeoutFor } from './timeouts.js';
import { addVote, roundParticipation, tally, votesFor } from './votes.js';

const ORDER: Record<RoundStep, number> = { propose: 0, prevote: 1, precommit: 2 };

export function stepOrder(step: RoundStep): number {
  return ORDER[step];
}

/** False when a restored sign floor forbids signing at (current height, round, step). */
export function floorAllows(s: ConsensusState, round: number, step: RoundStep): boolean {
  const f = s.signFloor;
  if (!f || f.height < s.height) return true;
  if (f.height > s.height) return false;
  if (round !== f.round) return round > f.round;
  return ORDER[step] > ORDER[f.step];
}

/** Schedules the timeout of `step` in the current round: its normal duration unless `durationMs` is given (timeouts.ts). */
export function scheduleTimeout(s: ConsensusState, step: RoundStep, out: ConsensusEffect[], durationMs?: number): void {
  out.push({
    kind: 'scheduleTimeout',
    height: s.height,
    round: s.round,
    step,
    durationMs: durationMs ?? timeoutFor(s.timeouts, step, s.round),
  });
}

/**
 * Emits signVote at most once per (height, round, type), never below the sign floor, and
 * counts the node's own vote immediately (the node need not feed it back; if it does, it is a
 * duplicate). A follower (self null) only moves its step.
 */
export function castVote(s: ConsensusState, type: VoteType, blockHash: string | null, out: ConsensusEffect[]): void {
  if (s.self === null) return;
  const key = `${s.round}/${type}`;
  if (s.signed[key] !== undefined) return;
  if (!floorAllows(s, s.round, type)) return;
  s.signed[key] = blockHash ?? '';
  const vote = { type, height: s.height, round: s.round, blockHash, validator: s.self };
  addVote(s, vote, out);
  out.push({ kind: 'signVote', vote: { ...vote } });
}

/** StartRound(r), lines 11-21. The propose timeout is scheduled for the proposer too, in case its block never gets built. */
export function startRound(s: ConsensusState, round: number, out: ConsensusEffect[]): void {
  s.round = round;
  s.step = 'propose';
  const proposer = proposerForSorted(s.validators, s.height, round);
  if (s.self !== null && proposer === s.self && !s.proposed[round] && floorAllows(s, round, 'propose')) {
    s.proposed[round] = true;
    if (s.validValue !== null) {
      s.proposals[round] = { blockHash: s.validValue, polRound: s.validRound, proposer, valid: true };
      out.push({ kind: 'broadcastProposal', height: s.height, round, blockHash: s.validValue, polRound: s.validRound });
    } else {
      out.push({ kind: 'buildProposal', height: s.height, round });
    }
  }
  // A proposer suspected absent gets a shorter (still growing) propose timeout: timing only, see timeouts.ts.
  scheduleTimeout(
    s,
    'propose',
    out,
    proposeTimeoutFor(s.timeouts, round, proposer !== s.self && s.absent[proposer] === true),
  );
}

/**
 * True when no block can get a quorum of precommits in `round` any more: the best non-nil value's
 * power plus the power of validators not yet heard from (in this round's precommits) is below it.
 */
export function roundUndecidable(s: ConsensusState, round: number): boolean {
  const t = tally(s, round, 'precommit');
  let best = 0;
  for (const [value, power] of t.byValue) if (value !== '' && power > best) best = power;
  return !hasQuorum(best + (s.totalPower - t.any), s.totalPower);
}

/** Lines 49-54: 2f+1 precommits for a value whose block we hold a valid proposal for. */
function tryCommit(s: ConsensusState, out: ConsensusEffect[]): boolean {
  for (const key of Object.keys(s.votes)) {
    const round = Number(key);
    const t = tally(s, round, 'precommit');
    for (const [value, power] of t.byValue) {
      if (value === '' || !hasQuorum(power, s.totalPower) || s.blockValidity[value] !== true) continue;
      s.decision = { round, blockHash: value };
      s.step = 'commit';
      out.push({
        kind: 'commit',
        height: s.height,
        round,
        blockHash: value,
        precommits: votesFor(s, round, 'precommit', value),
      });
      return true;
    }
  }
  return false;
}

/** Lines 55-56: f+1 power sent messages for a higher round -> jump to the highest such round. */
function trySkip(s: ConsensusState, out: ConsensusEffect[]): boolean {
  let target = -1;
  for (const key of Object.keys(s.votes)) {
    const r = Number(key);
    if (r > s.round && r > target && hasOneThird(roundParticipation(s, r), s.totalPower)) target = r;
  }
  for (const key of Object.keys(s.proposals)) {
    const r = Number(key);
    if (r > s.round && r > target && hasOneThird(roundParticipation(s, r), s.totalPower)) target = r;
  }
  if (target < 0) return false;
  startRound(s, target, out);
  return true;
}

/** Rules of the current round; applies one rule and returns true if anything changed. */
function tryRoundRules(s: ConsensusState, out: ConsensusEffect[]): boolean {
  const r = s.round;
  const p = s.proposals[r];
  const prevotes = tally(s, r, 'prevote');

  if (s.step === 'propose' && p) {
    if (p.polRound === -1) {
      // Lines 22-27.
      const ok = p.valid && (s.lockedRound === -1 || s.lockedValue === p.blockHash);
      castVote(s, 'prevote', ok ? p.blockHash : null, out);
      s.step = 'prevote';
      return true;
    }
    if (p.polRound >= 0 && p.polRound < r) {
      // Lines 28-33: the proposal carries a POL from round vr.
      const pol = tally(s, p.polRound, 'prevote').byValue.get(p.blockHash) ?? 0;
      if (hasQuorum(pol, s.totalPower)) {
        const ok = p.valid && (s.lockedRound <= p.polRound || s.lockedValue === p.blockHash);
        castVote(s, 'prevote', ok ? p.blockHash : null, out);
        s.step = 'prevote';
        return true;
      }
    }
  }

  // Lines 34-35.
  if (s.step === 'prevote' && !s.fired[`prevoteAny/${r}`] && hasQuorum(prevotes.any, s.totalPower)) {
    s.fired[`prevoteAny/${r}`] = true;
    scheduleTimeout(s, 'prevote', out);
    return true;
  }

  // Lines 36-43: a polka for the proposal of this round.
  if (
    (s.step === 'prevote' || s.step === 'precommit') &&
    p &&
    p.valid &&
    !s.fired[`polka/${r}`] &&
    hasQuorum(prevotes.byValue.get(p.blockHash) ?? 0, s.totalPower)
  ) {
    s.fired[`polka/${r}`] = true;
    if (s.step === 'prevote') {
      s.lockedValue = p.blockHash;
      s.lockedRound = r;
      castVote(s, 'precommit', p.blockHash, out);
      s.step = 'precommit';
    }
    s.validValue = p.blockHash;
    s.validRound = r;
    return true;
  }

  // Lines 44-46.
  if (s.step === 'prevote' && hasQuorum(prevotes.byValue.get('') ?? 0, s.totalPower)) {
    castVote(s, 'precommit', null, out);
    s.step = 'precommit';
    return true;
  }

  // Lines 47-48. The timeout is 0 once the round cannot decide any more (timing only, see
  // timeouts.ts): also when that happens after the full timeout was scheduled.
  if (!s.fired[`precommitNow/${r}`] && hasQuorum(tally(s, r, 'precommit').any, s.totalPower)) {
    const first = !s.fired[`precommitAny/${r}`];
    const now = roundUndecidable(s, r);
    if (first || now) {
      s.fired[`precommitAny/${r}`] = true;
      if (now) s.fired[`precommitNow/${r}`] = true;
      scheduleTimeout(s, 'precommit', out, now ? 0 : undefined);
      return true;
    }
  }
  return false;
}

/** Applies rules until none fires (bounded: every firing advances a step, round or marker). */
export function evaluate(s: ConsensusState, out: ConsensusEffect[]): void {
  for (let guard = 0; guard < 10_000; guard++) {
    if (s.step === 'idle' || s.step === 'commit') return;
    if (tryCommit(s, out)) return;
    if (trySkip(s, out)) continue;
    if (tryRoundRules(s, out)) continue;
    return;
  }
}
