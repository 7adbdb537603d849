// Randomized scheduler over many seeds: SAFETY (no two honest nodes commit different values at
// a height), LIVENESS (after GST every honest node commits heights 1..K), no honest double
// signing, and equivocation surfaces as evidence against the Byzantine validator only.
import { describe, expect, it } from 'vitest';
import { runSimulation, type ByzantineMode, type SimOptions, type SimResult } from './simnet.js';
import { V4 } from './helpers.js';

const SEEDS = 200;
const HEIGHTS = 3;

function options(seed: number, mode: ByzantineMode): SimOptions {
  return {
    seed,
    validators: V4,
    byzantine: seed % 4,
    mode,
    heights: HEIGHTS,
    gstMs: 1000 + (seed % 7) * 700,
    dropBeforeGst: 0.3,
    maxDelayBeforeGstMs: 2500,
    maxDelayAfterGstMs: 40,
    gossipEveryMs: 400,
    limitAfterGstMs: 120_000,
  };
}

function check(r: SimResult, seed: number, mode: ByzantineMode): void {
  const honest = r.nodes.filter((x) => x.honest);
  const ctx = `seed ${seed} mode ${mode}`;
  expect(r.violations, ctx).toEqual([]);
  // SAFETY
  for (let h = 1; h <= HEIGHTS; h++) {
    const values = new Set(honest.flatMap((x) => (x.commits.has(h) ? [x.commits.get(h)!] : [])));
    expect(values.size, `${ctx}: height ${h} values ${[...values].join(',')}`).toBeLessThanOrEqual(1);
    for (const v of values) expect(v.startsWith('bad'), `${ctx}: committed an invalid block`).toBe(false);
  }
  // LIVENESS
  for (const x of honest) for (let h = 1; h <= HEIGHTS; h++) expect(x.commits.has(h), `${ctx}: ${x.id} missing height ${h}`).toBe(true);
  // No honest double signing
  for (const x of honest) expect(x.doubleSigns, `${ctx}: ${x.id}`).toEqual([]);
  // Evidence only ever names the Byzantine validator.
  const byzId = r.nodes.find((x) => !x.honest)?.id;
  for (const x of honest) for (const ev of x.evidence) {
    expect(ev.a.validator, ctx).toBe(byzId);
    expect(ev.b.validator, ctx).toBe(ev.a.validator);
    expect([ev.b.height, ev.b.round, ev.b.type]).toEqual([ev.a.height, ev.a.round, ev.a.type]);
    expect(ev.b.blockHash).not.toBe(ev.a.blockHash);
  }
}

describe('consensus under a randomized network (4 validators, 1 Byzantine)', () => {
  it(`keeps safety and liveness over ${SEEDS} seeds`, () => {
    let withEvidence = 0;
    let equivocating = 0;
    const modes: ByzantineMode[] = ['equivocate', 'silent', 'none'];
    for (let seed = 1; seed <= SEEDS; seed++) {
      const mode = modes[seed % 3]!;
      const r = runSimulation(options(seed, mode));
      check(r, seed, mode);
      if (mode === 'equivocate') {
        equivocating++;
        if (r.nodes.some((x) => x.honest && x.evidence.length > 0)) withEvidence++;
      }
    }
    // Equivocation is detected: with both twins sent to one honest peer, evidence appears in every run.
    expect(withEvidence).toBe(equivocating);
  });
});
