import { describe, expect, it } from 'vitest';
import {
  BacklogGate,
  RATE_WINDOW_MS,
  REFUSED_ELSEWHERE_RETRY_AFTER_S,
  REFUSED_WINDOW_MS,
  RETRY_AFTER_MAX_S,
} from '../../../src/node/mempool/backlog-gate.js';

/** A gate on a clock the test moves: blocks of `txs` every `everyMs`. */
function gateWith(limits = { targetMs: 1_500, floorTxs: 500, maxTxs: 20_000 }) {
  let t = 0;
  const gate = new BacklogGate(limits, () => t);
  const blocks = (n: number, txs: number, everyMs: number): void => {
    for (let i = 0; i < n; i++) {
      t += everyMs;
      gate.onCommitted(txs);
    }
  };
  return { gate, blocks, advance: (ms: number) => (t += ms) };
}

describe('backlog gate (load shedding before admission)', () => {
  it('allows the floor while no rate is known, and refuses past it', () => {
    const { gate } = gateWith();
    expect(gate.rate()).toBe(0);
    expect(gate.room(0)).toMatchObject({ room: 500, bound: 500 });
    expect(gate.room(499).room).toBe(1);
    expect(gate.room(500).room).toBe(0);
    // a chain that commits nothing: the client is told to come back later, not in a second
    expect(gate.room(800).retryAfterSeconds).toBe(RETRY_AFTER_MAX_S);
  });

  it('bounds the pending txs at targetMs of the committed rate', () => {
    const { gate, blocks } = gateWith();
    blocks(20, 1_000, 500); // 2,000 tx/s
    expect(gate.rate()).toBeCloseTo(2_000, -1);
    expect(gate.bound()).toBe(3_000); // 1.5 s of 2,000 tx/s
    expect(gate.room(2_500).room).toBe(500);
    const full = gate.room(5_000);
    expect(full.room).toBe(0);
    // 2,001 txs over the bound drain at 2,000 tx/s: come back in 2 s
    expect(full.retryAfterSeconds).toBe(2);
  });

  it('never allows more than the pool holds, nor less than the floor', () => {
    const { gate, blocks } = gateWith({ targetMs: 1_500, floorTxs: 500, maxTxs: 1_000 });
    blocks(20, 5_000, 500);
    expect(gate.bound()).toBe(1_000);
    const slow = gateWith();
    slow.blocks(20, 10, 1_000); // 10 tx/s
    expect(slow.gate.bound()).toBe(500);
  });

  it('forgets blocks older than the window: a chain that stopped committing falls back to the floor', () => {
    const { gate, blocks, advance } = gateWith();
    blocks(20, 1_000, 500);
    expect(gate.bound()).toBe(3_000);
    advance(RATE_WINDOW_MS * 2);
    expect(gate.rate()).toBe(0);
    expect(gate.bound()).toBe(500);
  });

  it('follows a change of rate within the window', () => {
    const { gate, blocks } = gateWith();
    blocks(20, 1_000, 500); // 2,000 tx/s
    blocks(40, 250, 500); // then 500 tx/s for 20 s: the old blocks are out of the window
    expect(gate.rate()).toBeCloseTo(500, -1);
    expect(gate.bound()).toBe(750);
  });

  it('sheds for a Retry-After when another bound refused txs, then stops', () => {
    const { gate, advance } = gateWith();
    expect(gate.shedding()).toBeNull();
    expect(gate.refuse(10)).toBe(REFUSED_ELSEWHERE_RETRY_AFTER_S);
    expect(gate.shedding()).toBe(REFUSED_ELSEWHERE_RETRY_AFTER_S);
    advance(REFUSED_ELSEWHERE_RETRY_AFTER_S * 1000 + 1);
    expect(gate.shedding()).toBeNull();
  });

  it('asks for a longer wait the more it refuses, so that retries come back at the rate it commits', () => {
    const { gate, blocks, advance } = gateWith();
    blocks(20, 1_000, 500); // 2,000 tx/s, bound 3,000
    // just over the bound: the excess drains within a second, come back in one
    expect(gate.room(3_000, 100).retryAfterSeconds).toBe(1);
    // refused 4 s of its rate within the window (20,000 txs over 5 s): come back in 2 s...
    for (let i = 0; i < 19; i++) gate.room(3_000, 1_000);
    expect(gate.room(3_000, 900).retryAfterSeconds).toBe(Math.ceil(20_000 / (REFUSED_WINDOW_MS / 1000) / 2_000));
    // ...and never later than RETRY_AFTER_MAX_S, however many it turned away; refusals by other
    // bounds count the same
    expect(gate.refuse(200_000)).toBe(RETRY_AFTER_MAX_S);
    expect(gate.shedding()).toBe(RETRY_AFTER_MAX_S);
    // once the refusals are out of the window, one second again
    advance(REFUSED_WINDOW_MS + 1);
    expect(gate.room(gate.bound(), 100).retryAfterSeconds).toBe(1);
  });
});
