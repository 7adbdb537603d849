// Less time lost to an absent proposer (src/consensus/timeouts.ts): a proposer that let its last
// turn time out, and was not heard from since, gets a short propose timeout; a round that can no
// longer decide moves on without waiting its precommit timeout. Timing only: the randomized
// scheduler below checks safety and liveness with the most aggressive setting (0 ms).
import { describe, expect, it } from 'vitest';
import { initialState, proposerFor, type ConsensusEffect, type Validator } from '../../src/consensus/index.js';
import { Driver, V4, ofKind } from './helpers.js';
import { runSimulation, type ByzantineMode, type SimOptions } from './simnet.js';

const proposeTimeouts = (effects: ConsensusEffect[]): number[] =>
  ofKind(effects, 'scheduleTimeout')
    .filter((t) => t.step === 'propose')
    .map((t) => t.durationMs);

/** Runs `d` (self v0) through a round whose proposer never proposes: every live validator votes nil. */
function nilRound(d: Driver, round: number, live: string[]): ConsensusEffect[] {
  const out: ConsensusEffect[] = [];
  out.push(...d.feed({ kind: 'timeout', height: d.state.height, round, step: 'propose' }));
  out.push(...d.votes('prevote', round, null, live));
  out.push(...d.votes('precommit', round, null, live));
  out.push(...d.feed({ kind: 'timeout', height: d.state.height, round, step: 'precommit' }));
  return out;
}

describe('absent proposer', () => {
  it('the rotation used below: v1 proposes (1, 0) and (4, 1)', () => {
    expect(proposerFor(V4, 1, 0)).toBe('v1');
    expect(proposerFor(V4, 4, 1)).toBe('v1');
    expect(proposerFor(V4, 4, 0)).toBe('v0');
  });

  it('a proposer that missed its turn gets the short propose timeout at its next turn, also at a later height', () => {
    const d = new Driver();
    d.feed({ kind: 'start', height: 1, validators: V4, self: 'v0' });
    expect(proposeTimeouts(d.all)).toEqual([1000]);
    d.feed({ kind: 'timeout', height: 1, round: 0, step: 'propose' });
    expect(d.state.absent).toEqual({ v1: true });
    // Height 4 (v1 silent all along): round 0 is v0's own, round 1 is v1's.
    d.feed({ kind: 'start', height: 4, validators: V4, self: 'v0' });
    expect(d.state.absent).toEqual({ v1: true });
    const e = nilRound(d, 0, ['v2', 'v3']);
    expect(d.state.round).toBe(1);
    // min(full 1000 + 500, absent 250 + 500)
    expect(proposeTimeouts(e)).toEqual([750]);
  });

  it('any vote or proposal of the suspect ends the suspicion; its own turn never marks the node itself', () => {
    const d = new Driver();
    d.feed({ kind: 'start', height: 1, validators: V4, self: 'v0' });
    d.feed({ kind: 'timeout', height: 1, round: 0, step: 'propose' });
    d.votes('prevote', 0, null, ['v1']);
    expect(d.state.absent).toEqual({});
    // again absent; a vote of the next height (buffered) also counts
    d.feed({ kind: 'start', height: 5, validators: V4, self: 'v0' });
    d.feed({ kind: 'timeout', height: 5, round: 0, step: 'propose' });
    expect(d.state.absent).toEqual({ v1: true });
    d.feed({ kind: 'vote', vote: { type: 'prevote', height: 6, round: 0, blockHash: null, validator: 'v1' } });
    expect(d.state.absent).toEqual({});
    // a late proposal of the suspect clears it too (and is still recorded)
    d.feed({ kind: 'start', height: 9, validators: V4, self: 'v0' });
    d.feed({ kind: 'timeout', height: 9, round: 0, step: 'propose' });
    expect(d.state.absent).toEqual({ v1: true });
    d.feed({ kind: 'proposal', height: 9, round: 0, blockHash: 'L', polRound: -1, proposer: 'v1', valid: true });
    expect(d.state.absent).toEqual({});
    expect(d.state.proposals[0]?.blockHash).toBe('L');
    // v0's own round 0 at height 4 times out (its block was never built): it does not suspect itself
    const s = new Driver();
    s.feed({ kind: 'start', height: 4, validators: V4, self: 'v0' });
    s.feed({ kind: 'timeout', height: 4, round: 0, step: 'propose' });
    expect(s.state.absent).toEqual({});
  });

  it('suspicions are dropped for validators that leave the set', () => {
    const d = new Driver();
    d.feed({ kind: 'start', height: 1, validators: V4, self: 'v0' });
    d.feed({ kind: 'timeout', height: 1, round: 0, step: 'propose' });
    const without: Validator[] = V4.filter((v) => v.id !== 'v1');
    d.feed({ kind: 'start', height: 2, validators: without, self: 'v0' });
    expect(d.state.absent).toEqual({});
  });

  it('the short timeout is capped by the full one and grows per round', () => {
    const d = new Driver(initialState({ timeouts: { proposeMs: 100, proposeDeltaMs: 50, proposeAbsentMs: 400 } }));
    d.feed({ kind: 'start', height: 1, validators: V4, self: 'v0' });
    d.feed({ kind: 'timeout', height: 1, round: 0, step: 'propose' });
    d.feed({ kind: 'start', height: 4, validators: V4, self: 'v0' });
    expect(proposeTimeouts(nilRound(d, 0, ['v2', 'v3']))).toEqual([150]); // min(100 + 50, 400 + 50)
  });

  it('precommit timeout: 0 once no block can reach a quorum in the round, even after it was scheduled in full', () => {
    const d = new Driver();
    d.feed({ kind: 'start', height: 1, validators: V4, self: 'v0' });
    d.feed({ kind: 'proposal', height: 1, round: 0, blockHash: 'B', polRound: -1, proposer: 'v1', valid: true });
    d.votes('prevote', 0, 'B', ['v1']);
    d.votes('prevote', 0, null, ['v2']); // 3 prevotes, no polka: prevote timeout
    d.feed({ kind: 'timeout', height: 1, round: 0, step: 'prevote' }); // v0 precommits nil
    // nil (v0) + B (v1) + B (v2): B can still reach 3 with v3 -> full timeout
    const full = d.votes('precommit', 0, 'B', ['v1', 'v2']);
    expect(ofKind(full, 'scheduleTimeout')).toEqual([
      { kind: 'scheduleTimeout', height: 1, round: 0, step: 'precommit', durationMs: 500 },
    ]);
    // v3 precommits nil: B has 2 of 4 and nobody is left -> fire now
    const now = d.votes('precommit', 0, null, ['v3']);
    expect(ofKind(now, 'scheduleTimeout')).toEqual([
      { kind: 'scheduleTimeout', height: 1, round: 0, step: 'precommit', durationMs: 0 },
    ]);
    expect(ofKind(d.votes('precommit', 0, null, ['v3']), 'scheduleTimeout')).toEqual([]); // once
  });
});

function simOptions(seed: number, mode: ByzantineMode, heights: number, absentMs: number): SimOptions {
  return {
    seed,
    validators: V4,
    byzantine: seed % 4,
    mode,
    heights,
    gstMs: 1000 + (seed % 7) * 700,
    dropBeforeGst: 0.3,
    maxDelayBeforeGstMs: 2500,
    maxDelayAfterGstMs: 40,
    gossipEveryMs: 400,
    syncDelayMs: 0,
    limitAfterGstMs: 120_000,
    timeouts: { proposeAbsentMs: absentMs },
  };
}

describe('absent proposer under the randomized scheduler', () => {
  it('safety and liveness with the shortest setting (0 ms) over 200 seeds and every Byzantine mode', () => {
    const modes: ByzantineMode[] = ['silent', 'equivocate', 'chaos', 'none'];
    for (let seed = 7001; seed <= 7200; seed++) {
      const o = simOptions(seed, modes[seed % 4]!, 4, 0);
      const r = runSimulation(o);
      const ctx = `seed ${seed} mode ${o.mode}`;
      expect(r.violations, ctx).toEqual([]);
      const honest = r.nodes.filter((x) => x.honest);
      for (let h = 1; h <= o.heights; h++) {
        const values = new Set(honest.flatMap((x) => (x.commits.has(h) ? [x.commits.get(h)!] : [])));
        expect(values.size, `${ctx}: height ${h}`).toBe(1);
        for (const x of honest) expect(x.commits.has(h), `${ctx}: ${x.id} missing ${h}`).toBe(true);
      }
      for (const x of honest) expect(x.doubleSigns, ctx).toEqual([]);
    }
  });

  it('with one validator silent, heights take far less time than with the full propose timeout', () => {
    const mean = (absentMs: number): number => {
      let total = 0;
      for (let seed = 1; seed <= 10; seed++) {
        const o = { ...simOptions(seed, 'silent', 24, absentMs), gstMs: 0, dropBeforeGst: 0, maxDelayAfterGstMs: 10 };
        const r = runSimulation(o);
        const x = r.nodes.find((n) => n.honest)!;
        expect(x.commits.size).toBe(24);
        total += (x.commitTimes.get(24)! - x.commitTimes.get(4)!) / 20;
      }
      return total / 10;
    };
    const full = mean(1000); // = proposeMs: a suspect waits as long as anyone
    const short = mean(250);
    // The silent validator proposes every 4th height: it costs ~1000 ms there without the
    // shortcut, ~250 ms with it.
    expect(short).toBeLessThan(full * 0.6);
  });
});
