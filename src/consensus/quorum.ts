import type { Validator } from './types.js';
import { ConsensusCodes, consensusError } from './errors.js';

/** Sum of voting power. */
export function totalPower(validators: readonly Validator[]): number {
  let t = 0;
  for (const v of validators) t += v.power;
  return t;
}

/** Smallest power that is MORE than 2/3 of total ("2f+1"). */
export function quorumPower(total: number): number {
  return Math.floor((2 * total) / 3) + 1;
}

/** Smallest power that is MORE than 1/3 of total ("f+1": at least one honest validator). */
export function oneThirdPower(total: number): number {
  return Math.floor(total / 3) + 1;
}

export function hasQuorum(power: number, total: number): boolean {
  return power >= quorumPower(total);
}

export function hasOneThird(power: number, total: number): boolean {
  return power >= oneThirdPower(total);
}

/** Largest number of faulty validators (equal power) tolerated by n validators: n >= 3f+1. */
export function maxFaulty(n: number): number {
  return Math.max(0, Math.floor((n - 1) / 3));
}

/**
 * Validates and returns a copy sorted by id (order-independent determinism).
 * Throws CONSENSUS_INVALID_VALIDATOR_SET: empty, duplicate ids, or power not a positive safe integer.
 */
export function normalizeValidators(validators: readonly Validator[]): Validator[] {
  if (!Array.isArray(validators) || validators.length === 0) {
    throw consensusError(ConsensusCodes.INVALID_VALIDATOR_SET, 'validator set is empty');
  }
  const seen = new Set<string>();
  for (const v of validators) {
    if (typeof v?.id !== 'string' || v.id.length === 0) {
      throw consensusError(ConsensusCodes.INVALID_VALIDATOR_SET, 'validator id must be a non-empty string');
    }
    if (!Number.isSafeInteger(v.power) || v.power <= 0) {
      throw consensusError(ConsensusCodes.INVALID_VALIDATOR_SET, 'validator power must be a positive integer', {
        id: v.id,
        power: v.power,
      });
    }
    if (seen.has(v.id)) throw consensusError(ConsensusCodes.INVALID_VALIDATOR_SET, 'duplicate validator', { id: v.id });
    seen.add(v.id);
  }
  const sorted = validators.map((v) => ({ id: v.id, power: v.power }));
  sorted.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (!Number.isSafeInteger(2 * totalPower(sorted))) {
    throw consensusError(ConsensusCodes.INVALID_VALIDATOR_SET, 'total power too large');
  }
  return sorted;
}
