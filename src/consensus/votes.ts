import type { ConsensusEffect, ConsensusState, RoundVotes, Vote, VoteType } from './types.js';

/** Votes for rounds further ahead than this are ignored (bounds memory against spam). */
export const MAX_ROUNDS_AHEAD = 1000;
/** Next-height votes buffered per validator id, and in total. */
const NEXT_HEIGHT_PER_VALIDATOR = 8;
const NEXT_HEIGHT_TOTAL = 4096;
/** Distinct votes kept per (round, type, validator), and evidence pairs reported per height. */
const MAX_VOTES_PER_SLOT = 4;
const MAX_EVIDENCE_PER_HEIGHT = 256;

export function isWellFormedVote(v: unknown): v is Vote {
  if (typeof v !== 'object' || v === null) return false;
  const x = v as Record<string, unknown>;
  return (
    (x.type === 'prevote' || x.type === 'precommit') &&
    Number.isSafeInteger(x.height) &&
    (x.height as number) >= 0 &&
    Number.isSafeInteger(x.round) &&
    (x.round as number) >= 0 &&
    (x.blockHash === null || (typeof x.blockHash === 'string' && x.blockHash.length > 0)) &&
    typeof x.validator === 'string' &&
    x.validator.length > 0 &&
    (x.signature === undefined || typeof x.signature === 'string')
  );
}

function copyVote(v: Vote): Vote {
  const c: Vote = { type: v.type, height: v.height, round: v.round, blockHash: v.blockHash, validator: v.validator };
  if (v.signature !== undefined) c.signature = v.signature;
  return c;
}

export function roundVotes(s: ConsensusState, round: number): RoundVotes {
  let rv = s.votes[round];
  if (!rv) {
    rv = { prevote: {}, precommit: {} };
    s.votes[round] = rv;
  }
  return rv;
}

/** True when exactly this vote is already counted (lets step() skip cloning for re-gossip). */
export function isDuplicateVote(s: ConsensusState, v: Vote): boolean {
  if (v.height !== s.height) return false;
  const list = s.votes[v.round]?.[v.type]?.[v.validator];
  return list?.some((x) => x.blockHash === v.blockHash) ?? false;
}

/**
 * Counts a vote of the current height. A second, different vote of a validator for the same
 * (round, type) is equivocation: reported as evidence (paired with its first vote, once per pair,
 * at most MAX_EVIDENCE_PER_HEIGHT per height) and also counted when its value is nil or a proposed
 * block (bounded by MAX_VOTES_PER_SLOT); votes for unknown values are not kept (re-gossip
 * delivers them again once the proposal is known).
 */
export function addVote(s: ConsensusState, v: Vote, out: ConsensusEffect[]): void {
  const slot = roundVotes(s, v.round)[v.type];
  const list = slot[v.validator];
  if (list === undefined) {
    slot[v.validator] = [copyVote(v)];
    return;
  }
  if (list.some((x) => x.blockHash === v.blockHash)) return;
  const first = list[0]!;
  const key = JSON.stringify([v.validator, v.round, v.type, first.blockHash ?? '', v.blockHash ?? '']);
  const reported = Object.keys(s.evidenceSeen).length;
  if (!s.evidenceSeen[key] && reported < MAX_EVIDENCE_PER_HEIGHT) {
    s.evidenceSeen[key] = true;
    out.push({ kind: 'evidence', a: copyVote(first), b: copyVote(v) });
  }
  if (list.length < MAX_VOTES_PER_SLOT && (v.blockHash === null || s.blockValidity[v.blockHash] !== undefined)) {
    list.push(copyVote(v));
  }
}

/** Buffers a vote of height + 1 (its validator set is unknown yet; filtered on start). */
export function bufferNextHeightVote(s: ConsensusState, v: Vote): void {
  if (s.nextHeightVotes.length >= NEXT_HEIGHT_TOTAL) return;
  let mine = 0;
  for (const b of s.nextHeightVotes) {
    if (b.validator !== v.validator) continue;
    if (b.round === v.round && b.type === v.type && b.blockHash === v.blockHash) return;
    mine++;
  }
  if (mine >= NEXT_HEIGHT_PER_VALIDATOR) return;
  s.nextHeightVotes.push(copyVote(v));
}

export interface Tally {
  /** Power per value; key '' = nil. */
  byValue: Map<string, number>;
  any: number;
}

export function tally(s: ConsensusState, round: number, type: VoteType): Tally {
  const byValue = new Map<string, number>();
  let any = 0;
  const slot = s.votes[round]?.[type];
  if (slot) {
    for (const [id, list] of Object.entries(slot)) {
      const p = s.powerOf[id] ?? 0;
      any += p;
      // Each distinct value of a validator counts its power once (list values are distinct).
      for (const v of list) {
        const k = v.blockHash ?? '';
        byValue.set(k, (byValue.get(k) ?? 0) + p);
      }
    }
  }
  return { byValue, any };
}

/** Power of distinct validators that sent anything (vote or proposal) in a round. */
export function roundParticipation(s: ConsensusState, round: number): number {
  const who = new Set<string>();
  const rv = s.votes[round];
  if (rv) {
    for (const id of Object.keys(rv.prevote)) who.add(id);
    for (const id of Object.keys(rv.precommit)) who.add(id);
  }
  const p = s.proposals[round];
  if (p) who.add(p.proposer);
  let power = 0;
  for (const id of who) power += s.powerOf[id] ?? 0;
  return power;
}

export function votesFor(s: ConsensusState, round: number, type: VoteType, blockHash: string): Vote[] {
  const slot = s.votes[round]?.[type] ?? {};
  return Object.values(slot)
    .flatMap((list) => list.filter((v) => v.blockHash === blockHash))
    .sort((a, b) => (a.validator < b.validator ? -1 : a.validator > b.validator ? 1 : 0))
    .map(copyVote);
}
