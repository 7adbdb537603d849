// Randomized scheduler over many seeds: SAFETY (no two honest nodes commit different values at
// a height), LIVENESS (after GST every honest node commits heights 1..K), no honest double
// signing, and equivocation surfaces as evidence against the Byzantine validator only.
import { describe, expect, it } from 'vitest';
import type { Validator } from '../../src/consensus/index.js';
import { runSimulation, type ByzantineMode, type SimOptions, type SimResult } from './simnet.js';
import { V4 } from './helpers.js';

const MODES: ByzantineMode[] = ['equivocate', 'chaos', 'silent', 'none'];

function options(seed: number, validators: Validator[], byzantine: number, heights: number): SimOptions {
  return {
    seed,
    validators,
    byzantine,
    mode: MODES[seed % MODES.length]!,
    heights,
    gstMs: 1000 + (seed % 7) * 700,
    dropBeforeGst: 0.3,
    maxDelayBeforeGstMs: 2500,
    maxDelayAfterGstMs: 40,
    gossipEveryMs: 400,
    syncDelayMs: 0,
    limitAfterGstMs: 120_000,
  };
}

function check(r: SimResult, o: SimOptions): void {
  const honest = r.nodes.filter((x) => x.honest);
  const ctx = `seed ${o.seed} mode ${o.mode}`;
  expect(r.violations, ctx).toEqual([]);
  // SAFETY: one value per height among honest nodes, never an invalid block.
  for (let h = 1; h <= o.heights; h++) {
    const values = new Set(honest.flatMap((x) => (x.commits.has(h) ? [x.commits.get(h)!] : [])));
    expect(values.size, `${ctx}: height ${h} values ${[...values].join(',')}`).toBeLessThanOrEqual(1);
    for (const v of values) expect(v.startsWith('bad'), `${ctx}: committed an invalid block`).toBe(false);
  }
  // LIVENESS: after GST every honest node commits every height (within the time limit).
  for (const x of honest)
    for (let h = 1; h <= o.heights; h++) expect(x.commits.has(h), `${ctx}: ${x.id} missing height ${h}`).toBe(true);
  // No honest node ever emits two signVote for one (height, round, type).
  for (const x of honest) expect(x.doubleSigns, `${ctx}: ${x.id}`).toEqual([]);
  // Evidence only ever names the Byzantine validator, and is a real conflicting pair.
  const byzId = r.nodes.find((x) => !x.honest)?.id;
  for (const x of honest)
    for (const ev of x.evidence) {
      expect(ev.a.validator, ctx).toBe(byzId);
      expect(ev.b.validator, ctx).toBe(ev.a.validator);
      expect([ev.b.height, ev.b.round, ev.b.type]).toEqual([ev.a.height, ev.a.round, ev.a.type]);
      expect(ev.b.blockHash).not.toBe(ev.a.blockHash);
    }
}

describe('consensus under a randomized network', () => {
  it('4 validators, 1 Byzantine (equivocating, chaotic or silent): safety and liveness over 200 seeds', () => {
    let equivocating = 0;
    let withEvidence = 0;
    let multiRound = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const o = options(seed, V4, seed % 4, 3);
      const r = runSimulation(o);
      check(r, o);
      if (r.states.some((s) => (s.lastCommitRound ?? 0) > 0)) multiRound++;
      if (o.mode === 'equivocate') {
        equivocating++;
        if (r.nodes.some((x) => x.honest && x.evidence.length > 0)) withEvidence++;
      }
    }
    // Every equivocating run is detected (both twins reach one honest node).
    expect(withEvidence).toBe(equivocating);
    // The schedules are adversarial enough that many runs needed more than one round.
    expect(multiRound).toBeGreaterThan(20);
  });

  it('long asynchronous period over 8 heights (many rounds before GST): safety and liveness over 200 seeds', () => {
    for (let seed = 5001; seed <= 5200; seed++) {
      const o = {
        ...options(seed, V4, seed % 4, 8),
        gstMs: 8000 + (seed % 7) * 1000,
        dropBeforeGst: 0.1,
        maxDelayBeforeGstMs: 300,
        gossipEveryMs: 600,
      };
      check(runSimulation(o), o);
    }
  });

  it('weighted powers (3,2,2,1,1; Byzantine holds 2 of 9): safety and liveness over 40 seeds', () => {
    const vs: Validator[] = [
      { id: 'w0', power: 3 },
      { id: 'w1', power: 2 },
      { id: 'w2', power: 2 },
      { id: 'w3', power: 1 },
      { id: 'w4', power: 1 },
    ];
    for (let seed = 1001; seed <= 1040; seed++) {
      const o = options(seed, vs, 1 + (seed % 2), 2);
      check(runSimulation(o), o);
    }
  });
});
