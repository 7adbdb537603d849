import { describe, expect, it } from 'vitest';
import { IngestQueue } from '../../../src/node/mempool/ingest-queue.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('IngestQueue', () => {
  it('admits every queued tx in order, off the push call', async () => {
    const seen: string[] = [];
    const q = new IngestQueue((b, peer) => seen.push(`${peer}:${b[0]}`));
    q.push('p', [Uint8Array.of(1), Uint8Array.of(2)]);
    q.push('q', [Uint8Array.of(3)]);
    expect(seen).toEqual([]);
    for (let i = 0; i < 5 && q.size > 0; i++) await tick();
    expect(seen).toEqual(['p:1', 'p:2', 'q:3']);
  });

  it('yields to the event loop after its time slice and drops beyond its bound', async () => {
    let admitted = 0;
    let dropped = 0;
    const q = new IngestQueue(
      () => {
        admitted++;
        const end = performance.now() + 1;
        while (performance.now() < end);
      },
      { maxTxs: 50, sliceMs: 5 },
      (n) => {
        dropped += n;
      },
    );
    q.push(
      'p',
      Array.from({ length: 60 }, () => new Uint8Array(1)),
    );
    expect(q.size).toBe(50);
    expect(dropped).toBe(10);
    await tick();
    expect(admitted).toBeGreaterThan(0);
    expect(admitted).toBeLessThan(50); // one slice, not the whole queue
    while (q.size > 0) await tick();
    expect(admitted).toBe(50);
  });

  it('a throwing admit does not stop the queue; stop() discards the rest', async () => {
    let n = 0;
    const q = new IngestQueue(() => {
      n++;
      if (n === 1) throw new Error('bad');
    });
    q.push('p', [new Uint8Array(1), new Uint8Array(1)]);
    while (q.size > 0) await tick();
    expect(n).toBe(2);
    q.push('p', [new Uint8Array(1)]);
    q.stop();
    await tick();
    expect(n).toBe(2);
  });
});
