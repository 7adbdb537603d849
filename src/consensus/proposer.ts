import type { Validator } from './types.js';
import { normalizeValidators } from './quorum.js';

/**
 * Weighted round-robin proposer, a pure function of (validator set, height, round).
 * One cycle of the smooth weighted round-robin sequence (each validator appears `power`
 * times, interleaved) is computed over powers reduced by their gcd; slot = (height + round)
 * mod cycle length, so the next round, like the next height, moves to the next slot.
 * Cycles longer than MAX_CYCLE use proportionally scaled powers (each >= 1).
 */
const MAX_CYCLE = 4096;
const cache = new Map<string, string[]>();

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function cycleFor(sorted: Validator[]): string[] {
  const key = sorted.map((v) => `${v.id}:${v.power}`).join(',');
  const hit = cache.get(key);
  if (hit) return hit;
  let powers = sorted.map((v) => v.power);
  const g = powers.reduce((acc, p) => gcd(acc, p), 0);
  powers = powers.map((p) => p / g);
  let total = powers.reduce((a, b) => a + b, 0);
  if (total > MAX_CYCLE) {
    powers = powers.map((p) => Math.max(1, Math.floor((p * MAX_CYCLE) / total)));
    total = powers.reduce((a, b) => a + b, 0);
  }
  // Smooth WRR: each slot, every validator gains its power; the highest (ties: lowest id) is
  // chosen and loses the total.
  const current = powers.map(() => 0);
  const seq: string[] = [];
  for (let s = 0; s < total; s++) {
    let best = 0;
    for (let i = 0; i < powers.length; i++) {
      current[i]! += powers[i]!;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    seq.push(sorted[best]!.id);
  }
  if (cache.size >= 64) cache.clear();
  cache.set(key, seq);
  return seq;
}

/** The proposer of (height, round). Validators may be given in any order. */
export function proposerFor(validators: readonly Validator[], height: number, round: number): string {
  const sorted = normalizeValidators(validators);
  return proposerForSorted(sorted, height, round);
}

/** Same as proposerFor for an already normalized (sorted, validated) set. */
export function proposerForSorted(sorted: Validator[], height: number, round: number): string {
  const seq = cycleFor(sorted);
  const slot = (((height + round) % seq.length) + seq.length) % seq.length;
  return seq[slot]!;
}
