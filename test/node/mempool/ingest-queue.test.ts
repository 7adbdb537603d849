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

describe('IngestQueue with batch admission', () => {
  it('admits queued txs in batches, in order, with a bounded number of batches in flight', async () => {
    const batches: string[][] = [];
    const releases: (() => void)[] = [];
    let maxInFlight = 0;
    const q = new IngestQueue(
      () => {
        throw new Error('no single-tx admission in batch mode');
      },
      { maxTxs: 1000, sliceMs: 5 },
      undefined,
      {
        admit: (items) => {
          batches.push(items.map((it) => `${it.peer}:${it.bytes[0]}`));
          maxInFlight = Math.max(maxInFlight, q.batchesInFlight);
          return new Promise<void>((r) => releases.push(r));
        },
        batchTxs: 4,
        inFlight: 2,
      },
    );
    q.push(
      'p',
      Array.from({ length: 10 }, (_, i) => Uint8Array.of(i)),
    );
    for (let i = 0; i < 5 && batches.length < 2; i++) await tick();
    expect(batches).toHaveLength(2); // a third waits for a batch to finish
    expect(q.size).toBe(2);
    releases.shift()!();
    for (let i = 0; i < 5 && batches.length < 3; i++) await tick();
    expect(batches).toEqual([
      ['p:0', 'p:1', 'p:2', 'p:3'],
      ['p:4', 'p:5', 'p:6', 'p:7'],
      ['p:8', 'p:9'],
    ]);
    expect(maxInFlight).toBe(2);
    for (const r of releases.splice(0)) r();
    await tick();
    expect(q.batchesInFlight).toBe(0);
    q.stop();
  });
});
