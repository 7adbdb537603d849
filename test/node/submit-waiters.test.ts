import { describe, expect, it } from 'vitest';
import { SubmitWaiters } from '../../src/node/submit-waiters.js';

const hash = new Uint8Array(32).fill(7);

describe('submit waiters', () => {
  it('answers every waiter of a tx with its commit, once', async () => {
    const w = new SubmitWaiters();
    const a = w.wait(hash, 'aa', 60_000);
    const b = w.wait(hash, 'aa', 60_000);
    const other = w.wait(hash, 'bb', 60_000);
    expect(w.size).toBe(2);
    const committed = { status: 'committed' as const, hash, height: 3, index: 1, code: 'OK' };
    w.committed('aa', committed);
    await expect(a).resolves.toEqual(committed);
    await expect(b).resolves.toEqual(committed);
    expect(w.size).toBe(1);
    w.committed('aa', { ...committed, height: 4 }); // nobody waits any more: nothing happens
    w.committed('bb', committed);
    await expect(other).resolves.toEqual(committed);
    expect(w.size).toBe(0);
  });

  it("answers 'accepted' when the timeout passes first and forgets the waiter", async () => {
    const w = new SubmitWaiters();
    const started = Date.now();
    await expect(w.wait(hash, 'cc', 30)).resolves.toEqual({ status: 'accepted', hash });
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(w.size).toBe(0);
    await expect(w.wait(hash, 'dd', -5)).resolves.toEqual({ status: 'accepted', hash }); // a negative timeout is no wait
  });
});
