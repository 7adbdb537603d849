import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { Tags, decodeTx, signDomain, verifyDomain, verifyEncodedTxSignature } from '../../../src/chain/index.js';
import {
  VERIFY_BATCH_TXS_MAX,
  VERIFY_START_FAILURES_MAX,
  VerifyPool,
  VerifyPoolCodes,
  spawnVerifyWorker,
  verifyTxSignatures,
  type VerifyItem,
} from '../../../src/node/verify-pool/index.js';
import { key, stx } from '../../chain/fixtures.js';

const pools: VerifyPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) {
    await p.close();
    expect(p.liveWorkers).toBe(0); // close() leaves no thread behind
  }
});
const pool = (o: ConstructorParameters<typeof VerifyPool>[0]): VerifyPool => {
  const p = new VerifyPool(o);
  pools.push(p);
  return p;
};

/** Valid, invalid and malformed items, in a fixed mix. */
function mixedItems(n: number): VerifyItem[] {
  const kp = key(7);
  const out: VerifyItem[] = [];
  for (let i = 0; i < n; i++) {
    const payload = Buffer.from(`payload ${i}`);
    const signature = signDomain(Tags.TX, kp.secretKey, payload);
    const it: VerifyItem = { tag: Tags.TX, publicKey: kp.publicKey, payload, signature };
    switch (i % 8) {
      case 1: // signature of another payload
        out.push({ ...it, payload: Buffer.from(`other ${i}`) });
        break;
      case 2: // flipped signature bit
        out.push({ ...it, signature: Uint8Array.from(signature, (b, j) => (j === 5 ? b ^ 1 : b)) });
        break;
      case 3: // short signature
        out.push({ ...it, signature: signature.subarray(0, 63) });
        break;
      case 4: // short key
        out.push({ ...it, publicKey: kp.publicKey.subarray(0, 31) });
        break;
      case 5: // 32 bytes that are no curve point
        out.push({ ...it, publicKey: new Uint8Array(32).fill(0xff) });
        break;
      case 6: // other domain
        out.push({ ...it, tag: Tags.VOTE });
        break;
      default:
        out.push(it);
    }
  }
  return out;
}

const inline = (items: VerifyItem[]): boolean[] =>
  items.map((it) => verifyDomain(it.tag, it.publicKey, it.payload, it.signature));

/** A worker that says it is ready, then runs `onJob` (source) for each job instead of answering. */
const fakeWorker = (onJob: string): Worker =>
  new Worker(
    `const { parentPort } = require('node:worker_threads'); parentPort.on('message', () => { ${onJob} }); parentPort.postMessage({ ready: true });`,
    { eval: true },
  );
/** Exits (code 3) on the first job it receives. */
const crashingWorker = (): Worker => fakeWorker('process.exit(3);');

describe('VerifyPool', () => {
  it('gives the same result as inline verifyDomain for valid, invalid and malformed input', async () => {
    const items = mixedItems(64);
    const expected = inline(items);
    expect(expected.filter(Boolean).length).toBe(16); // the mix has both outcomes
    expect(expected.includes(false)).toBe(true);
    const p = pool({ workers: 2 });
    expect(await p.verify(items)).toEqual(expected);
  });

  it('verifies txs exactly as verifyEncodedTxSignature does', async () => {
    const kp = key(9);
    const good = stx(kp, 0, { type: 'create_account' });
    const bad = Uint8Array.from(good);
    bad[bad.length - 1]! ^= 1;
    const txs = [good, bad].map((bytes) => ({ bytes, tx: decodeTx(bytes) }));
    const p = pool({ workers: 1 });
    expect(await verifyTxSignatures(p, txs)).toEqual(txs.map((t) => verifyEncodedTxSignature(t.bytes, t.tx)));
    expect(await verifyTxSignatures(p, txs)).toEqual([true, false]);
  });

  it('splits work into jobs of at most the batch size, results in order', async () => {
    const items = mixedItems(2 * VERIFY_BATCH_TXS_MAX + 3);
    const p = pool({ workers: 2 });
    expect(await p.verify(items)).toEqual(inline(items));
    expect(p.stats.jobs).toBe(3);
    expect(p.stats.items).toBe(items.length);
    const q = pool({ workers: 1, batchMax: 10 });
    expect(await q.verify(items.slice(0, 35))).toEqual(inline(items.slice(0, 35)));
    expect(q.stats.jobs).toBe(4);
  });

  it('replaces a worker that crashes and retries its job on the new one', async () => {
    let spawned = 0;
    const p = pool({
      workers: 1,
      spawn: () => (spawned++ === 0 ? crashingWorker() : spawnVerifyWorker()),
    });
    const items = mixedItems(16);
    expect(await p.verify(items)).toEqual(inline(items));
    expect(p.stats.workersLost).toBe(1);
    expect(spawned).toBe(2);
    expect(await p.verify(items)).toEqual(inline(items)); // the replacement keeps serving
  });

  it('fails a job whose workers keep crashing, without hanging, and keeps a full set of workers', async () => {
    const p = pool({ workers: 2, spawn: crashingWorker });
    await expect(p.verify(mixedItems(4))).rejects.toMatchObject({ code: VerifyPoolCodes.FAILED });
    expect(p.size).toBe(2);
  });

  it('fails queued work when workers die before they start, instead of waiting for one', async () => {
    let spawned = 0;
    const p = pool({
      workers: 1,
      spawn: () => {
        spawned++;
        return new Worker('process.exit(4);', { eval: true });
      },
    });
    await expect(p.verify(mixedItems(2))).rejects.toMatchObject({ code: VerifyPoolCodes.FAILED });
    expect(spawned).toBe(VERIFY_START_FAILURES_MAX);
  });

  it('treats a worker that does not answer in time as crashed', async () => {
    let spawned = 0;
    const p = pool({
      workers: 1,
      jobTimeoutMs: 200,
      spawn: () => (spawned++ === 0 ? fakeWorker('') : spawnVerifyWorker()),
    });
    const items = mixedItems(8);
    expect(await p.verify(items)).toEqual(inline(items));
    expect(p.stats.workersLost).toBe(1);
  });

  it('refuses normal work beyond its queue bound at once, but not high-priority work', async () => {
    const p = pool({ workers: 1, batchMax: 1, queueMaxJobs: 3 });
    const items = mixedItems(3);
    const first = p.verify(items); // three jobs: at most one of them running, the bound is reached
    await expect(p.verify(items.slice(0, 2))).rejects.toMatchObject({ code: VerifyPoolCodes.BUSY });
    const urgent = p.verify(items.slice(0, 2), 'high');
    expect(await first).toEqual(inline(items));
    expect(await urgent).toEqual(inline(items.slice(0, 2)));
  });

  it('serves low-priority work (API submissions) after normal work (gossip), with correct results', async () => {
    const p = pool({ workers: 1, batchMax: 1, now: () => 0 }); // a stopped clock: no job ever waits too long
    const items = mixedItems(4);
    const order: string[] = [];
    const api = p.verify(items.slice(0, 2), 'low').then((r) => {
      order.push('low');
      return r;
    });
    const gossip = p.verify(items.slice(2), 'normal').then((r) => {
      order.push('normal');
      return r;
    });
    expect(await api).toEqual(inline(items.slice(0, 2)));
    expect(await gossip).toEqual(inline(items.slice(2)));
    // one worker, one item a job: the low job queued first still waits for the normal ones
    expect(order).toEqual(['normal', 'low']);
    await p.close();
  });

  it('serves low-priority work first once it has waited lowWaitMaxMs, so gossip cannot starve it', async () => {
    let clock = 0;
    const p = pool({ workers: 1, batchMax: 1, lowWaitMaxMs: 250, now: () => clock });
    const items = mixedItems(4);
    const order: string[] = [];
    const api = p.verify(items.slice(0, 2), 'low').then((r) => {
      order.push('low');
      return r;
    });
    clock = 250; // the API jobs have waited their bound when gossip comes in
    const gossip = p.verify(items.slice(2), 'normal').then((r) => {
      order.push('normal');
      return r;
    });
    expect(await api).toEqual(inline(items.slice(0, 2)));
    expect(await gossip).toEqual(inline(items.slice(2)));
    expect(order).toEqual(['low', 'normal']);
  });

  it('fails low-priority work LATE that found no worker within lowStartMaxMs, and still serves the rest', async () => {
    let clock = 0;
    const p = pool({ workers: 1, batchMax: 1, lowStartMaxMs: 500, now: () => clock });
    const items = mixedItems(4);
    const proposal = p.verify(items.slice(0, 3), 'high');
    const api = p.verify(items.slice(3), 'low').catch((e: unknown) => e);
    clock = 501; // the worker is not ready yet: the API job has waited past its bound when it could start
    expect(await api).toMatchObject({ code: VerifyPoolCodes.LATE });
    expect(await proposal).toEqual(inline(items.slice(0, 3)));
    // work queued now is served
    expect(await p.verify(items.slice(3), 'low')).toEqual(inline(items.slice(3)));
    await p.close();
  });

  it('skips a job no longer wanted when it could start: its items come back unverified', async () => {
    const p = pool({ workers: 1, batchMax: 1 });
    const items = mixedItems(4);
    let current = true;
    const stale = p.verify(items.slice(0, 2), 'high', () => current);
    current = false; // e.g. the chain passed the proposal's height while its jobs waited for the worker
    const fresh = p.verify(items.slice(2), 'high', () => true);
    expect(await stale).toEqual([false, false]);
    expect(p.stats.skipped).toBe(2);
    expect(await fresh).toEqual(inline(items.slice(2)));
    expect(p.stats.items).toBe(2);
  });

  it('close() fails pending work and terminates every worker', async () => {
    const p = pool({ workers: 2 });
    const pending = p.verify(mixedItems(3 * VERIFY_BATCH_TXS_MAX)).catch((e: unknown) => e);
    await p.close();
    expect(await pending).toMatchObject({ code: VerifyPoolCodes.CLOSED });
    expect(p.liveWorkers).toBe(0);
    await expect(p.verify(mixedItems(1))).rejects.toMatchObject({ code: VerifyPoolCodes.CLOSED });
  });

  it('needs at least one worker (0 means: no pool, verify inline)', () => {
    expect(() => new VerifyPool({ workers: 0 })).toThrow(RangeError);
  });
});
