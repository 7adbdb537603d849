import { describe, expect, it } from 'vitest';
import {
  hasOneThird,
  hasQuorum,
  maxFaulty,
  normalizeValidators,
  oneThirdPower,
  proposerFor,
  quorumPower,
} from '../../src/consensus/index.js';

describe('quorum and proposer rotation', () => {
  it('2f+1 is more than 2/3 of total power, f+1 more than 1/3', () => {
    expect([1, 3, 4, 6, 7, 10, 100].map(quorumPower)).toEqual([1, 3, 3, 5, 5, 7, 67]);
    expect([1, 3, 4, 6, 7, 10, 100].map(oneThirdPower)).toEqual([1, 2, 2, 3, 3, 4, 34]);
    expect(hasQuorum(2, 3)).toBe(false);
    expect(hasQuorum(3, 4)).toBe(true);
    expect(hasOneThird(1, 4)).toBe(false);
    expect(hasOneThird(2, 4)).toBe(true);
    expect([1, 3, 4, 6, 7].map(maxFaulty)).toEqual([0, 0, 1, 1, 2]);
  });

  it('rejects invalid validator sets', () => {
    expect(() => normalizeValidators([])).toThrow(/empty/);
    expect(() =>
      normalizeValidators([
        { id: 'a', power: 1 },
        { id: 'a', power: 2 },
      ]),
    ).toThrow(/duplicate/);
    expect(() => normalizeValidators([{ id: 'a', power: 0 }])).toThrow(/power/);
    expect(() => normalizeValidators([{ id: 'a', power: 1.5 }])).toThrow(/power/);
  });

  it('weighted round-robin: each validator proposes in proportion to power, independent of input order', () => {
    const vs = [
      { id: 'c', power: 1 },
      { id: 'a', power: 3 },
      { id: 'b', power: 2 },
    ];
    const counts: Record<string, number> = {};
    for (let r = 0; r < 600; r++) {
      const p = proposerFor(vs, 7, r);
      counts[p] = (counts[p] ?? 0) + 1;
      expect(proposerFor([...vs].reverse(), 7, r)).toBe(p);
    }
    expect(counts).toEqual({ a: 300, b: 200, c: 100 });
    // Interleaved, not in runs: 'a' never proposes 3 rounds in a row.
    const seq = Array.from({ length: 12 }, (_, r) => proposerFor(vs, 0, r)).join('');
    expect(seq).not.toMatch(/aaa/);
    // Round change and height change both rotate.
    expect(proposerFor(vs, 5, 1)).toBe(proposerFor(vs, 6, 0));
    // Huge powers stay cheap and still weighted.
    const big = [
      { id: 'x', power: 3_000_000 },
      { id: 'y', power: 1_000_000 },
      { id: 'z', power: 1 },
    ];
    const bc: Record<string, number> = {};
    for (let r = 0; r < 4096; r++) bc[proposerFor(big, 0, r)] = (bc[proposerFor(big, 0, r)] ?? 0) + 1;
    expect(bc['x']! / bc['y']!).toBeCloseTo(3, 1);
    expect(bc['z']).toBeGreaterThanOrEqual(1);
  });
});
