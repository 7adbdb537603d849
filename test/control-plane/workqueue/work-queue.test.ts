import { describe, expect, it } from 'vitest';
import { Backoff, WorkQueue, type ReconcileResult } from '../../../src/control-plane/workqueue/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `pred` every 5 ms, failing after a generous limit. */
async function until(pred: () => boolean, limitMs = 5_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

interface Req {
  id: string;
  n?: number;
}
const keyOf = (r: Req) => r.id;

describe('WorkQueue', () => {
  it('coalesces adds of a queued key and never runs a key twice at once', async () => {
    const runs: string[] = [];
    let concurrent = 0;
    let maxConcurrent = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const q = new WorkQueue<Req>(
      {
        async reconcile(r) {
          concurrent++;
          maxConcurrent = Math.max(maxConcurrent, concurrent);
          runs.push(r.id);
          await gate;
          concurrent--;
          return {};
        },
      },
      { keyOf, concurrency: 4, baseMs: 10, maxMs: 100 },
    );
    q.add({ id: 'a' });
    q.add({ id: 'a' }); // running -> dirty: one more run
    q.add({ id: 'a' }); // coalesced into that run
    q.add({ id: 'b' });
    expect(q.busy('a')).toBe(true);
    expect(runs).toEqual(['a', 'b']);
    release();
    await until(() => runs.length === 3);
    await q.idle();
    expect(runs.filter((k) => k === 'a')).toHaveLength(2);
    expect(runs.filter((k) => k === 'b')).toHaveLength(1);
    expect(maxConcurrent).toBe(2);
    expect(q.size).toBe(0);
    q.close();
  });

  it('queued adds of one key run once, with the latest request', async () => {
    const seen: (number | undefined)[] = [];
    const errors: unknown[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const q = new WorkQueue<Req>(
      {
        async reconcile(r) {
          if (r.id === 'block') await gate;
          else seen.push(r.n);
          return {};
        },
      },
      { keyOf, concurrency: 1, baseMs: 10, maxMs: 100, onError: (_r, e) => errors.push(e) },
    );
    q.add({ id: 'block' }); // the only worker is busy: the next adds wait in the queue
    q.add({ id: 'k', n: 1 });
    q.add({ id: 'k', n: 2 });
    release();
    await q.idle();
    expect(seen).toEqual([2]);
    expect(errors).toEqual([]);
    expect(q.size).toBe(0);
    q.close();
  });

  it('retries failures with exponential backoff up to the maximum and resets on success', async () => {
    const times: number[] = [];
    const delays: number[] = [];
    const q = new WorkQueue<Req>(
      {
        async reconcile() {
          times.push(Date.now());
          if (times.length < 5) throw new Error('boom');
          return {};
        },
      },
      { keyOf, concurrency: 1, baseMs: 20, maxMs: 100, onError: (_r, _e, _a, d) => delays.push(d) },
    );
    q.add({ id: 'k' });
    await until(() => times.length === 5);
    expect(delays).toEqual([20, 40, 80, 100]);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(delays[i - 1]! - 2);
    expect(q.retries('k')).toBe(0);
    expect(q.backoffMs(20)).toBe(100);
    q.close();
  });

  it('an add beats a scheduled retry; retryFailed: false leaves retries to the caller', async () => {
    let runs = 0;
    const q = new WorkQueue<Req>(
      {
        async reconcile() {
          runs++;
          throw new Error('boom');
        },
      },
      { keyOf, concurrency: 1, baseMs: 60_000, maxMs: 60_000 },
    );
    q.add({ id: 'k' });
    await until(() => runs === 1 && !q.busy('k'));
    q.add({ id: 'k' }); // the retry is a minute away: this runs now
    await until(() => runs === 2);
    q.close();

    let once = 0;
    const noRetry = new WorkQueue<Req>(
      {
        async reconcile() {
          once++;
          throw new Error('boom');
        },
      },
      { keyOf, concurrency: 1, baseMs: 1, maxMs: 1, retryFailed: false },
    );
    await expect(noRetry.addAndWait({ id: 'k' })).rejects.toThrow('boom');
    await sleep(50);
    expect(once).toBe(1);
    expect(noRetry.retries('k')).toBe(1);
    noRetry.close();
  });

  it('requeueAfterMs runs a key again after the delay without counting a failure', async () => {
    const times: number[] = [];
    const q = new WorkQueue<Req>(
      {
        async reconcile(): Promise<ReconcileResult> {
          times.push(Date.now());
          return times.length < 3 ? { requeueAfterMs: 40 } : {};
        },
      },
      { keyOf, concurrency: 1, baseMs: 10, maxMs: 100 },
    );
    q.add({ id: 'k' });
    await until(() => times.length === 3);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(38);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(38);
    expect(q.retries('k')).toBe(0);
    await sleep(100);
    expect(times).toHaveLength(3); // the third run asked for nothing more
    q.close();
  });

  it('addAndWait answers with the run that starts after it; close rejects those still waiting', async () => {
    let fail = true;
    let release!: () => void;
    let gate = new Promise<void>((r) => (release = r));
    const q = new WorkQueue<Req>(
      {
        async reconcile() {
          await gate;
          if (fail) throw new Error('boom');
          return {};
        },
      },
      { keyOf, concurrency: 1, baseMs: 60_000, maxMs: 60_000 },
    );
    const first = q.addAndWait({ id: 'k' });
    const second = q.addAndWait({ id: 'k' }); // asked while the first runs: served by the run after it
    release();
    await expect(first).rejects.toThrow('boom');
    await expect(second).rejects.toThrow('boom');

    fail = false;
    gate = new Promise<void>((r) => (release = r));
    const running = q.addAndWait({ id: 'k' });
    await until(() => q.busy('k'));
    const next = q.addAndWait({ id: 'k' }); // asked while running: served by the run after it
    release();
    await expect(running).resolves.toBeUndefined();
    await expect(next).resolves.toBeUndefined();

    gate = new Promise<void>(() => undefined); // never finishes
    q.add({ id: 'x' });
    const waiting = q.addAndWait({ id: 'y' }); // queued behind x on the only worker
    q.close(new Error('closed'));
    await expect(waiting).rejects.toThrow('closed');
    await expect(q.addAndWait({ id: 'z' })).rejects.toThrow('closed');
  });
});

describe('Backoff', () => {
  it('grows exponentially and is capped', () => {
    const b = new Backoff(100, 1000, () => 0.5);
    expect(b.failure('x', 0)).toBe(100);
    expect(b.failure('x', 0)).toBe(200);
    expect(b.failure('x', 0)).toBe(400);
    expect(b.failure('x', 0)).toBe(800);
    expect(b.failure('x', 0)).toBe(1000);
    expect(b.ready('x', 999)).toBe(false);
    expect(b.ready('x', 1000)).toBe(true);
    b.success('x');
    expect(b.failures('x')).toBe(0);
  });

  it('jitters each delay within +-25%', () => {
    expect(new Backoff(100, 1000, () => 0).delayMs(1)).toBe(75);
    expect(new Backoff(100, 1000, () => 0.999999).delayMs(1)).toBeCloseTo(125, 3);
  });
});
