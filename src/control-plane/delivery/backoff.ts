/**
 * Retry delay after the n-th failed attempt (n >= 1): base * 2^(n-1), capped, with "equal jitter"
 * (half fixed, half random) so receivers that failed together do not get retried in lockstep.
 */
export function deliveryBackoffMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  const half = exp / 2;
  return Math.round(half + random() * half);
}
