// Scripted scenarios for the Tendermint state machine (4 validators of power 1, f = 1).
import { describe, expect, it } from 'vitest';
import { initialState, proposerFor, step } from '../../src/consensus/index.js';
import { Driver, V4, ofKind, signed } from './helpers.js';

// Height 1: proposers by round are v1, v2, v3, v0, v1, ...
const H = 1;

function started(self: string | null): Driver {
  const d = new Driver();
  d.feed({ kind: 'start', height: H, validators: V4, self });
  return d;
}

describe('consensus scripted scenarios', () => {
  it('uses the expected rotation for these scenarios', () => {
    expect([0, 1, 2, 3, 4].map((r) => proposerFor(V4, H, r))).toEqual(['v1', 'v2', 'v3', 'v0', 'v1']);
  });

  it('happy path: proposer builds, everyone votes, commit carries 2f+1 precommits', () => {
    const p = started('v1');
    expect(ofKind(p.all, 'buildProposal')).toEqual([{ kind: 'buildProposal', height: H, round: 0 }]);
    expect(ofKind(p.all, 'scheduleTimeout')).toEqual([
      { kind: 'scheduleTimeout', height: H, round: 0, step: 'propose', durationMs: 1000 },
    ]);
    const eff = p.feed({ kind: 'proposalReady', height: H, round: 0, blockHash: 'B' });
    expect(ofKind(eff, 'broadcastProposal')).toEqual([
      { kind: 'broadcastProposal', height: H, round: 0, blockHash: 'B', polRound: -1 },
    ]);
    expect(signed(eff)).toEqual([{ type: 'prevote', height: H, round: 0, blockHash: 'B', validator: 'v1' }]);
    // One more prevote is not a quorum (2 of 4); the second is.
    expect(signed(p.votes('prevote', 0, 'B', ['v0']))).toEqual([]);
    const pc = p.votes('prevote', 0, 'B', ['v2']);
    expect(signed(pc)).toEqual([{ type: 'precommit', height: H, round: 0, blockHash: 'B', validator: 'v1' }]);
    expect(p.state.lockedValue).toBe('B');
    expect(p.state.lockedRound).toBe(0);
    expect(ofKind(p.votes('precommit', 0, 'B', ['v0']), 'commit')).toEqual([]);
    const c = ofKind(p.votes('precommit', 0, 'B', ['v3']), 'commit');
    expect(c).toHaveLength(1);
    expect(c[0]!.blockHash).toBe('B');
    expect(c[0]!.precommits.map((v) => v.validator)).toEqual(['v0', 'v1', 'v3']);
    expect(p.state.step).toBe('commit');
    // A non-proposer prevotes the proposal it receives.
    const q = started('v2');
    expect(ofKind(q.all, 'buildProposal')).toEqual([]);
    const e2 = q.feed({
      kind: 'proposal',
      height: H,
      round: 0,
      blockHash: 'B',
      polRound: -1,
      proposer: 'v1',
      valid: true,
    });
    expect(signed(e2)).toEqual([{ type: 'prevote', height: H, round: 0, blockHash: 'B', validator: 'v2' }]);
  });

  it('does not commit without a valid proposal for the value, then commits once it arrives', () => {
    const d = started('v0');
    d.votes('precommit', 0, 'B', ['v1', 'v2', 'v3']);
    expect(ofKind(d.all, 'commit')).toEqual([]);
    const e = d.feed({
      kind: 'proposal',
      height: H,
      round: 0,
      blockHash: 'B',
      polRound: -1,
      proposer: 'v1',
      valid: true,
    });
    expect(ofKind(e, 'commit').map((c) => c.blockHash)).toEqual(['B']);
  });

  it('ignores proposals from the wrong proposer, prevotes nil for an invalid block', () => {
    const d = started('v0');
    expect(
      d.feed({ kind: 'proposal', height: H, round: 0, blockHash: 'B', polRound: -1, proposer: 'v2', valid: true }),
    ).toEqual([]);
    const e = d.feed({
      kind: 'proposal',
      height: H,
      round: 0,
      blockHash: 'X',
      polRound: -1,
      proposer: 'v1',
      valid: false,
    });
    expect(signed(e)).toEqual([{ type: 'prevote', height: H, round: 0, blockHash: null, validator: 'v0' }]);
  });

  it('proposer offline: propose timeout -> nil votes -> precommit timeout -> next round with a new proposer and longer timeouts', () => {
    const d = started('v0');
    const t = d.feed({ kind: 'timeout', height: H, round: 0, step: 'propose' });
    expect(signed(t)).toEqual([{ type: 'prevote', height: H, round: 0, blockHash: null, validator: 'v0' }]);
    const pv = d.votes('prevote', 0, null, ['v2', 'v3']);
    // 2f+1 prevotes (any) schedule the prevote timeout; 2f+1 nil prevotes precommit nil.
    expect(ofKind(pv, 'scheduleTimeout').map((x) => x.step)).toEqual(['prevote']);
    expect(signed(pv)).toEqual([{ type: 'precommit', height: H, round: 0, blockHash: null, validator: 'v0' }]);
    const pc = d.votes('precommit', 0, null, ['v2', 'v3']);
    // 3 nil precommits: no block can reach a quorum in round 0 any more, so the precommit timeout
    // is 0 (timing only: see src/consensus/timeouts.ts).
    expect(ofKind(pc, 'scheduleTimeout')).toEqual([
      { kind: 'scheduleTimeout', height: H, round: 0, step: 'precommit', durationMs: 0 },
    ]);
    // A stale timeout (wrong round) is ignored.
    expect(d.feed({ kind: 'timeout', height: H, round: 3, step: 'precommit' })).toEqual([]);
    const r1 = d.feed({ kind: 'timeout', height: H, round: 0, step: 'precommit' });
    expect(d.state.round).toBe(1);
    expect(ofKind(r1, 'scheduleTimeout')).toEqual([
      { kind: 'scheduleTimeout', height: H, round: 1, step: 'propose', durationMs: 1500 },
    ]);
    expect(proposerFor(V4, H, 1)).toBe('v2');
    const e = d.feed({
      kind: 'proposal',
      height: H,
      round: 1,
      blockHash: 'C',
      polRound: -1,
      proposer: 'v2',
      valid: true,
    });
    expect(signed(e)).toEqual([{ type: 'prevote', height: H, round: 1, blockHash: 'C', validator: 'v0' }]);
  });

  it('locking: locked on B, prevotes nil for another value unless a POL from a later round', () => {
    const d = started('v0');
    d.feed({ kind: 'proposal', height: H, round: 0, blockHash: 'B', polRound: -1, proposer: 'v1', valid: true });
    d.votes('prevote', 0, 'B', ['v1', 'v2']);
    expect(d.state.lockedValue).toBe('B');
    d.votes('precommit', 0, null, ['v1', 'v2']);
    d.feed({ kind: 'timeout', height: H, round: 0, step: 'precommit' });
    expect(d.state.round).toBe(1);
    // Round 1: fresh proposal C (no POL) -> nil.
    const e1 = d.feed({
      kind: 'proposal',
      height: H,
      round: 1,
      blockHash: 'C',
      polRound: -1,
      proposer: 'v2',
      valid: true,
    });
    expect(signed(e1)).toEqual([{ type: 'prevote', height: H, round: 1, blockHash: null, validator: 'v0' }]);
    d.votes('prevote', 1, 'C', ['v1', 'v2']);
    expect(d.state.lockedValue).toBe('B'); // v0's own nil + 2 for C: no polka
    // A polka for the round's proposal (even one v0 prevoted nil on) re-locks at the newer round (line 36).
    expect(signed(d.votes('prevote', 1, 'C', ['v3']))).toEqual([
      { type: 'precommit', height: H, round: 1, blockHash: 'C', validator: 'v0' },
    ]);
    expect(d.state.lockedValue).toBe('C');
    expect(d.state.lockedRound).toBe(1);
  });

  it('locking: a POL from a round not later than the lock does not unlock; a later one does', () => {
    const d = started('v0');
    // Lock on B in round 1 (skip round 0 by timeouts).
    d.feed({ kind: 'timeout', height: H, round: 0, step: 'propose' });
    d.votes('prevote', 0, null, ['v1', 'v2']);
    d.votes('precommit', 0, null, ['v1', 'v2']);
    d.feed({ kind: 'timeout', height: H, round: 0, step: 'precommit' });
    d.feed({ kind: 'proposal', height: H, round: 1, blockHash: 'B', polRound: -1, proposer: 'v2', valid: true });
    d.votes('prevote', 1, 'B', ['v1', 'v2']);
    expect([d.state.lockedValue, d.state.lockedRound]).toEqual(['B', 1]);
    d.votes('precommit', 1, null, ['v1', 'v2']);
    d.feed({ kind: 'timeout', height: H, round: 1, step: 'precommit' });
    // Round 2 (proposer v3) re-proposes C with POL round 0 -- there is no polka for C at 0: wait, then nil on timeout.
    const e2 = d.feed({
      kind: 'proposal',
      height: H,
      round: 2,
      blockHash: 'C',
      polRound: 0,
      proposer: 'v3',
      valid: true,
    });
    expect(signed(e2)).toEqual([]);
    // Even a real polka for C at round 0 (older than the lock at 1) does not unlock.
    const e2b = d.votes('prevote', 0, 'C', ['v3']); // v1, v2 prevoted nil at 0 -> still no 2f+1 for C at 0
    expect(signed(e2b)).toEqual([]);
    expect(signed(d.feed({ kind: 'timeout', height: H, round: 2, step: 'propose' }))).toEqual([
      { type: 'prevote', height: H, round: 2, blockHash: null, validator: 'v0' },
    ]);
    d.votes('prevote', 2, 'C', ['v1', 'v2', 'v3']); // polka for C in round 2 (newer than the lock) -> locks C@2
    expect([d.state.lockedValue, d.state.lockedRound]).toEqual(['C', 2]);
  });

  it('locking: a re-proposal whose POL round is older than the lock gets nil even with a real POL', () => {
    const d = started('v0');
    // Round 0: v0 misses the proposal and prevotes nil; the others prevoted C (a polka v0 sees late).
    d.feed({ kind: 'timeout', height: H, round: 0, step: 'propose' });
    d.votes('precommit', 0, null, ['v1', 'v2', 'v3']);
    d.feed({ kind: 'timeout', height: H, round: 0, step: 'precommit' });
    // Round 1: lock on B.
    d.feed({ kind: 'proposal', height: H, round: 1, blockHash: 'B', polRound: -1, proposer: 'v2', valid: true });
    d.votes('prevote', 1, 'B', ['v1', 'v2']);
    expect([d.state.lockedValue, d.state.lockedRound]).toEqual(['B', 1]);
    d.votes('precommit', 1, null, ['v1', 'v2']);
    d.feed({ kind: 'timeout', height: H, round: 1, step: 'precommit' });
    d.votes('prevote', 0, 'C', ['v1', 'v2', 'v3']);
    // Round 2: C re-proposed with POL round 0 (< lockedRound 1): the POL is real, but v0 stays on nil.
    const e = d.feed({
      kind: 'proposal',
      height: H,
      round: 2,
      blockHash: 'C',
      polRound: 0,
      proposer: 'v3',
      valid: true,
    });
    expect(signed(e)).toEqual([{ type: 'prevote', height: H, round: 2, blockHash: null, validator: 'v0' }]);
  });

  it('locking: proposal with a POL from a round after the lock gets a prevote for the new value', () => {
    const d = started('v0');
    d.feed({ kind: 'proposal', height: H, round: 0, blockHash: 'B', polRound: -1, proposer: 'v1', valid: true });
    d.votes('prevote', 0, 'B', ['v1', 'v2']);
    expect([d.state.lockedValue, d.state.lockedRound]).toEqual(['B', 0]);
    d.votes('precommit', 0, null, ['v1', 'v2']);
    d.feed({ kind: 'timeout', height: H, round: 0, step: 'precommit' });
    // v0 missed round 1's proposal; the others had a polka for C at round 1.
    d.votes('prevote', 1, 'C', ['v1', 'v2', 'v3']);
    d.feed({ kind: 'timeout', height: H, round: 1, step: 'propose' });
    d.votes('precommit', 1, null, ['v1', 'v2']);
    d.feed({ kind: 'timeout', height: H, round: 1, step: 'precommit' });
    expect(d.state.round).toBe(2);
    const e = d.feed({
      kind: 'proposal',
      height: H,
      round: 2,
      blockHash: 'C',
      polRound: 1,
      proposer: 'v3',
      valid: true,
    });
    expect(signed(e)).toEqual([{ type: 'prevote', height: H, round: 2, blockHash: 'C', validator: 'v0' }]);
  });

  it('valid-round re-proposal: a proposer with a validValue re-proposes it with its polRound, without building', () => {
    const d = started('v3'); // proposer of round 2
    d.feed({ kind: 'proposal', height: H, round: 0, blockHash: 'B', polRound: -1, proposer: 'v1', valid: true });
    d.votes('prevote', 0, 'B', ['v0', 'v1']);
    expect([d.state.validValue, d.state.validRound]).toEqual(['B', 0]);
    d.votes('precommit', 0, null, ['v0', 'v1']);
    d.feed({ kind: 'timeout', height: H, round: 0, step: 'precommit' });
    d.feed({ kind: 'timeout', height: H, round: 1, step: 'propose' });
    d.votes('prevote', 1, null, ['v0', 'v1']);
    d.votes('precommit', 1, null, ['v0', 'v1']);
    const before = d.all.length;
    d.feed({ kind: 'timeout', height: H, round: 1, step: 'precommit' });
    const e = d.all.slice(before);
    expect(ofKind(e, 'buildProposal')).toEqual([]);
    expect(ofKind(e, 'broadcastProposal')).toEqual([
      { kind: 'broadcastProposal', height: H, round: 2, blockHash: 'B', polRound: 0 },
    ]);
    expect(signed(e)).toEqual([{ type: 'prevote', height: H, round: 2, blockHash: 'B', validator: 'v3' }]);
  });

  it('f+1 round skip: messages of a higher round from > 1/3 power move the node to that round', () => {
    const d = started('v0');
    expect(d.votes('prevote', 3, null, ['v1'])).toEqual([]);
    expect(d.state.round).toBe(0);
    const e = d.votes('precommit', 3, null, ['v2']);
    expect(d.state.round).toBe(3);
    expect(ofKind(e, 'scheduleTimeout')).toEqual([
      { kind: 'scheduleTimeout', height: H, round: 3, step: 'propose', durationMs: 2500 },
    ]);
    // v0 proposes in round 3.
    expect(ofKind(e, 'buildProposal')).toEqual([{ kind: 'buildProposal', height: H, round: 3 }]);
  });

  it('timeouts grow per round and are configurable', () => {
    const d = new Driver(
      initialState({
        timeouts: {
          proposeMs: 100,
          proposeDeltaMs: 10,
          prevoteMs: 50,
          prevoteDeltaMs: 5,
          precommitMs: 40,
          precommitDeltaMs: 4,
        },
      }),
    );
    d.feed({ kind: 'start', height: H, validators: V4, self: 'v0' });
    const durations: number[] = [];
    for (let r = 0; r < 4; r++) {
      d.feed({ kind: 'timeout', height: H, round: r, step: 'propose' });
      d.votes('prevote', r, 'Z', ['v1', 'v2']); // 2f+1 any prevotes, no polka for nil
      d.feed({ kind: 'timeout', height: H, round: r, step: 'prevote' });
      // Z can still get a quorum (2 precommits + v3 unheard): the precommit timeout runs in full.
      d.votes('precommit', r, 'Z', ['v1', 'v2']);
      d.feed({ kind: 'timeout', height: H, round: r, step: 'precommit' });
    }
    for (const t of ofKind(d.all, 'scheduleTimeout')) durations.push(t.durationMs);
    expect(durations).toEqual([100, 50, 40, 110, 55, 44, 120, 60, 48, 130, 65, 52, 140]);
    expect(() => initialState({ timeouts: { proposeMs: -1 } })).toThrow(/proposeMs/);
  });

  it('equivocation produces evidence once per pair; duplicates are idempotent (same state object)', () => {
    const d = started('v0');
    d.votes('prevote', 0, 'B', ['v2']);
    const s1 = d.state;
    expect(
      step(s1, { kind: 'vote', vote: { type: 'prevote', height: H, round: 0, blockHash: 'B', validator: 'v2' } }),
    ).toEqual({ state: s1, effects: [] });
    const e = d.votes('prevote', 0, 'C', ['v2']);
    expect(ofKind(e, 'evidence')).toEqual([
      {
        kind: 'evidence',
        a: { type: 'prevote', height: H, round: 0, blockHash: 'B', validator: 'v2' },
        b: { type: 'prevote', height: H, round: 0, blockHash: 'C', validator: 'v2' },
      },
    ]);
    expect(ofKind(d.votes('prevote', 0, 'C', ['v2']), 'evidence')).toEqual([]);
    expect(ofKind(d.votes('prevote', 0, null, ['v2']), 'evidence')).toHaveLength(1);
    // C and 'B' are no proposed blocks: only the first vote is kept; nil (second conflict) is kept.
    expect(d.state.votes[0]!.prevote['v2']!.map((v) => v.blockHash)).toEqual(['B', null]);
    // Votes from non-validators and malformed votes are ignored without throwing.
    expect(d.votes('prevote', 0, 'B', ['stranger'])).toEqual([]);
    expect(step(d.state, { kind: 'vote', vote: { type: 'x', height: -1 } } as never).effects).toEqual([]);
  });

  it('a conflicting vote for a proposed block counts, so a polka seen elsewhere through a twin vote is seen here too', () => {
    const d = started('v0');
    d.feed({ kind: 'proposal', height: H, round: 0, blockHash: 'B', polRound: -1, proposer: 'v1', valid: true });
    // v0 prevoted B; v1 B; v3 (Byzantine) sent nil to v0 and B to others.
    d.votes('prevote', 0, 'B', ['v1']);
    d.votes('prevote', 0, null, ['v3']);
    expect(d.state.lockedRound).toBe(-1);
    // Relayed by a peer: v3's twin vote for B. Evidence, and now 3 of 4 prevoted B: polka, lock.
    const e = d.votes('prevote', 0, 'B', ['v3']);
    expect(ofKind(e, 'evidence')).toHaveLength(1);
    expect(signed(e)).toEqual([{ type: 'precommit', height: H, round: 0, blockHash: 'B', validator: 'v0' }]);
    expect([d.state.lockedValue, d.state.validValue]).toEqual(['B', 'B']);
  });

  it('never signs twice for the same (height, round, type) even when timeouts repeat', () => {
    const d = started('v0');
    d.feed({ kind: 'timeout', height: H, round: 0, step: 'propose' });
    d.feed({ kind: 'timeout', height: H, round: 0, step: 'propose' });
    d.feed({ kind: 'proposal', height: H, round: 0, blockHash: 'B', polRound: -1, proposer: 'v1', valid: true });
    expect(signed(d.all)).toEqual([{ type: 'prevote', height: H, round: 0, blockHash: null, validator: 'v0' }]);
  });

  it('restore before start: resumes the round, restores the lock, never re-signs or re-proposes below the floor', () => {
    const d = new Driver();
    const own = { type: 'precommit' as const, height: H, round: 0, blockHash: 'B', validator: 'v1', signature: 'aa' };
    d.feed({ kind: 'restore', height: H, round: 0, step: 'precommit', votes: [own] });
    d.feed({ kind: 'start', height: H, validators: V4, self: 'v1' }); // v1 is proposer of round 0
    expect(ofKind(d.all, 'buildProposal')).toEqual([]);
    expect(d.state.step).toBe('precommit');
    expect([d.state.lockedValue, d.state.lockedRound]).toEqual(['B', 0]);
    expect(d.state.votes[0]!.precommit['v1']).toEqual([own]);
    // Round-0 inputs that would normally make it sign do not.
    d.feed({ kind: 'proposal', height: H, round: 0, blockHash: 'C', polRound: -1, proposer: 'v1', valid: true });
    d.votes('prevote', 0, 'C', ['v0', 'v2', 'v3']);
    expect(signed(d.all)).toEqual([]);
    expect(ofKind(d.all, 'scheduleTimeout').at(-1)).toMatchObject({ round: 0, step: 'precommit' });
    // Round 1: locked on B, a fresh C gets nil.
    d.feed({ kind: 'timeout', height: H, round: 0, step: 'precommit' });
    const e = d.feed({
      kind: 'proposal',
      height: H,
      round: 1,
      blockHash: 'C',
      polRound: -1,
      proposer: 'v2',
      valid: true,
    });
    expect(signed(e)).toEqual([{ type: 'prevote', height: H, round: 1, blockHash: null, validator: 'v1' }]);
  });

  it('restore for a later height forbids signing at the current one; an older restore is harmless', () => {
    const d = started('v1');
    d.feed({ kind: 'restore', height: H - 1, round: 5, step: 'precommit' });
    d.feed({ kind: 'proposalReady', height: H, round: 0, blockHash: 'B' });
    expect(signed(d.all)).toHaveLength(1);
    const e = started('v0');
    e.feed({ kind: 'restore', height: H + 1, round: 0, step: 'propose' });
    e.feed({ kind: 'proposal', height: H, round: 0, blockHash: 'B', polRound: -1, proposer: 'v1', valid: true });
    expect(signed(e.all)).toEqual([]);
  });

  it('buffers next-height votes and replays them on start', () => {
    const d = started('v0');
    d.votes('prevote', 2, null, ['v1', 'v2'], H + 1);
    expect(d.state.round).toBe(0);
    d.feed({ kind: 'proposal', height: H, round: 0, blockHash: 'B', polRound: -1, proposer: 'v1', valid: true });
    d.votes('precommit', 0, 'B', ['v1', 'v2', 'v3']);
    expect(ofKind(d.all, 'commit')).toHaveLength(1);
    d.feed({ kind: 'start', height: H + 1, validators: V4, self: 'v0', lastCommitRound: 0 });
    expect(d.state.height).toBe(H + 1);
    expect(d.state.lastCommitRound).toBe(0);
    expect(d.state.round).toBe(2); // the buffered f+1 round-2 votes skipped rounds
    // Votes two heights ahead are not buffered.
    d.votes('prevote', 0, null, ['v1'], H + 3);
    expect(d.state.nextHeightVotes).toEqual([]);
  });

  it('a follower (self null) never signs but commits', () => {
    const d = started(null);
    d.feed({ kind: 'proposal', height: H, round: 0, blockHash: 'B', polRound: -1, proposer: 'v1', valid: true });
    d.votes('prevote', 0, 'B', ['v1', 'v2', 'v3']);
    d.votes('precommit', 0, 'B', ['v1', 'v2', 'v3']);
    expect(signed(d.all)).toEqual([]);
    expect(ofKind(d.all, 'commit').map((c) => c.blockHash)).toEqual(['B']);
  });

  it('step does not mutate its input state', () => {
    const d = started('v0');
    const before = JSON.stringify(d.state);
    const s0 = d.state;
    step(s0, { kind: 'proposal', height: H, round: 0, blockHash: 'B', polRound: -1, proposer: 'v1', valid: true });
    step(s0, { kind: 'timeout', height: H, round: 0, step: 'propose' });
    d.votes('prevote', 0, 'B', ['v2']);
    const s1 = d.state;
    const mid = JSON.stringify(s1);
    step(s1, { kind: 'vote', vote: { type: 'prevote', height: H, round: 0, blockHash: null, validator: 'v2' } }); // conflicting: list grows in the copy
    step(s1, { kind: 'vote', vote: { type: 'precommit', height: H, round: 0, blockHash: 'B', validator: 'v3' } });
    step(s1, { kind: 'vote', vote: { type: 'prevote', height: H + 1, round: 0, blockHash: 'B', validator: 'v3' } });
    expect(JSON.stringify(s0)).toBe(before);
    expect(JSON.stringify(s1)).toBe(mid);
  });
});
