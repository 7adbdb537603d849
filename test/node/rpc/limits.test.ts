import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeTx, generateKeyPair, signTx, toHex, txHash } from '../../../src/chain/index.js';
import { ConsortiaError } from '../../../src/lib/errors.js';
import {
  AdmissionQueue,
  BATCH_BODY_BYTES_MAX,
  SNAPSHOTS_IN_FLIGHT_MAX,
  SSE_STREAMS_PER_CLIENT_MAX,
  TXS_PER_BATCH_MAX,
  createNodeApi,
  encodeLengthPrefixed,
  type NodeApp,
  type StateSnapshot,
  type TxBatchItemResult,
  type TxLookup,
  type TxRoom,
} from '../../../src/node/rpc/index.js';
import { jsonListStream } from '../../../src/node/rpc/stream.js';
import { FakeBackend, makeSealedGenesis } from './fake-backend.js';

/** Node API limits: batch size / body / answer, admission in slices, rate limit, streamed answers, stream caps. */

const LIMITS = { maxTxBytes: 2048, bodyLimitBytes: 16 * 1024 * 1024, maxWaitMs: 2000, sseKeepAliveMs: 60_000 };
const ADMIN_TOKEN = 'limits-test-admin-token-0123456789abcdef';
const busyWait = (ms: number): void => {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* CPU, as signature verification is */
  }
};

/** A node whose batch admission costs `costMs` of synchronous CPU per tx, with a snapshot that can be held. */
class SlowBackend extends FakeBackend {
  costMs = 0;
  admitted = 0;
  batchCalls = 0;
  snapshotGate: Promise<void> = Promise.resolve();
  entries: [string, Uint8Array][] = [];
  /** Load shedding: txs the node still takes (null: no shedding). */
  room: number | null = null;

  takeTxRoom(wanted: number, _queued: number): TxRoom {
    const granted = this.room === null ? wanted : Math.min(wanted, this.room);
    return { granted, bound: 1000, retryAfterSeconds: 3 };
  }

  async submitTxBatch(txs: Uint8Array[]): Promise<TxBatchItemResult[]> {
    this.batchCalls++;
    return txs.map((b) => {
      busyWait(this.costMs);
      this.admitted++;
      return b.length > 1
        ? { status: 'accepted', hash: txHash(b) }
        : { status: 'rejected', hash: txHash(b), code: 'CODEC_TRUNCATED', message: 'x'.repeat(5000) };
    });
  }

  async getAccountTxs(
    _pk: Uint8Array,
    fromHeight: number,
    limit: number,
  ): Promise<{ lowestHeight: number; txs: TxLookup[] }> {
    const txs = Array.from(
      { length: Math.min(limit, 3000) },
      (_, i): TxLookup => ({
        hash: new Uint8Array(32).fill(i & 0xff),
        height: fromHeight + (i >> 4),
        index: i & 15,
        code: 'OK',
        tx: new Uint8Array(200).fill(7),
        proof: { txRoot: new Uint8Array(32), leafIndex: i & 15, treeSize: 16, path: [new Uint8Array(32).fill(1)] },
      }),
    );
    return { lowestHeight: 1, txs };
  }

  async getSnapshot(): Promise<StateSnapshot> {
    await this.snapshotGate;
    return {
      height: 7,
      block: new Uint8Array([1, 2]),
      commit: new Uint8Array([3]),
      epochs: [{ height: 0 }],
      entries: this.entries,
    };
  }
}

/** Longest event-loop stall (ms) while `fn` runs. */
async function maxStallDuring(fn: () => Promise<unknown>): Promise<number> {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  try {
    await fn();
    // a stall is recorded when the sampling timer runs after it: let it run once more
    await new Promise((r) => setTimeout(r, 30));
  } finally {
    h.disable();
  }
  return h.max / 1e6;
}

describe('node API request limits', () => {
  const backend = new SlowBackend('test-chain', makeSealedGenesis().sealed);
  let app: NodeApp;
  beforeAll(async () => {
    app = await createNodeApi({
      backend,
      registry: new Registry(),
      limits: { ...LIMITS, rateLimit: { max: 0, windowMs: 1000 } },
      adminToken: () => ADMIN_TOKEN,
    });
  });
  afterAll(async () => {
    await app.close();
  });
  afterEach(() => {
    backend.costMs = 0;
    backend.room = null;
  });

  const postBinary = (items: Uint8Array[] | Buffer) =>
    app.inject({
      method: 'POST',
      url: '/v1/txs/batch',
      headers: { 'content-type': 'application/octet-stream' },
      payload: Buffer.isBuffer(items) ? items : Buffer.from(encodeLengthPrefixed(items)),
    });

  it('refuses a batch of more than TXS_PER_BATCH_MAX items with 413 BATCH_TOO_LARGE before admitting any', async () => {
    const before = backend.admitted;
    // 800 KB of zero-length items: 200k items, the probe that stalled a node for seconds
    const bin = await postBinary(Buffer.alloc(800_000));
    expect(bin.statusCode).toBe(413);
    expect(bin.json().error).toMatchObject({
      code: 'BATCH_TOO_LARGE',
      details: { limit: TXS_PER_BATCH_MAX, unit: 'txs', count: 200_000 },
    });
    const json = await app.inject({
      method: 'POST',
      url: '/v1/txs/batch',
      payload: Array.from({ length: TXS_PER_BATCH_MAX + 1 }, () => ''),
    });
    expect(json.statusCode).toBe(413);
    expect(json.json().error).toMatchObject({
      code: 'BATCH_TOO_LARGE',
      details: { limit: TXS_PER_BATCH_MAX, unit: 'txs', count: TXS_PER_BATCH_MAX + 1 },
    });
    const wrapped = await app.inject({
      method: 'POST',
      url: '/v1/txs/batch',
      payload: { txs: Array.from({ length: TXS_PER_BATCH_MAX + 1 }, () => '00') },
    });
    expect(wrapped.statusCode).toBe(413);
    expect(backend.admitted).toBe(before);
  });

  it('sheds load before admission: the tail past the room is MEMPOOL_BUSY with its Retry-After, no room at all is 429', async () => {
    const items = Array.from({ length: 10 }, (_, i) => new Uint8Array([i, 1, 2]));
    backend.room = 4;
    const before = backend.admitted;
    const part = await postBinary(items);
    expect(part.statusCode).toBe(200);
    const body = part.json();
    expect(body.accepted).toBe(4);
    expect(backend.admitted - before).toBe(4); // the refused ones cost no admission work
    expect(body.results[4]).toMatchObject({
      hash: toHex(txHash(items[4]!)),
      status: 'rejected',
      error: { code: 'MEMPOOL_BUSY', retryAfterSeconds: 3 }, // when to come back, per tx
    });
    backend.room = 0;
    const none = await postBinary(items);
    expect(none.statusCode).toBe(429);
    expect(none.headers['retry-after']).toBe('3');
    expect(none.json().error).toMatchObject({ code: 'MEMPOOL_BUSY', details: { retryAfterSeconds: 3, bound: 1000 } });
    expect(backend.admitted - before).toBe(4);
  });

  it('refuses a batch body over BATCH_BODY_BYTES_MAX with 413 BODY_TOO_LARGE naming the limit', async () => {
    const r = await postBinary(Buffer.alloc(BATCH_BODY_BYTES_MAX + 1));
    expect(r.statusCode).toBe(413);
    expect(r.json().error).toMatchObject({
      code: 'BODY_TOO_LARGE',
      details: { limit: BATCH_BODY_BYTES_MAX, unit: 'bytes' },
    });
  });

  it('answers a batch at the limit item by item, with a bounded answer', async () => {
    const items = Array.from({ length: TXS_PER_BATCH_MAX }, (_, i) => new Uint8Array([i & 0xff]));
    const r = await postBinary(items);
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.results).toHaveLength(TXS_PER_BATCH_MAX);
    expect(body.rejected).toBe(TXS_PER_BATCH_MAX);
    expect(body.results[0]).toMatchObject({
      hash: toHex(txHash(items[0]!)),
      status: 'rejected',
      error: { code: 'CODEC_TRUNCATED' },
    });
    // a 5000-char message per item is clipped: the answer stays ~200 bytes per item
    expect(body.results[0].error.message.length).toBeLessThanOrEqual(160);
    expect(r.body.length).toBeLessThan(TXS_PER_BATCH_MAX * (64 + 160 + 100));
  });

  it('admits a large batch in slices: the event loop is never held for the whole batch', async () => {
    backend.costMs = 0.25; // 4096 txs x 0.25 ms = ~1 s of synchronous admission
    const items = Array.from({ length: TXS_PER_BATCH_MAX }, (_, i) =>
      encodeTx(
        signTx(
          { chainId: 'test-chain', signer: new Uint8Array(32).fill(1), nonce: i, body: { type: 'create_account' } },
          generateKeyPair().secretKey,
        ),
      ),
    );
    await postBinary(items.slice(0, 64)); // warm: the first pass compiles the code
    let accepted = 0;
    const t0 = performance.now();
    const stall = await maxStallDuring(async () => {
      const r = await postBinary(items);
      accepted = r.json().accepted;
    });
    expect(accepted).toBe(TXS_PER_BATCH_MAX);
    const took = performance.now() - t0;
    expect(took).toBeGreaterThan(900);
    // slices are ~4 ms; the bound is generous for a loaded machine (the OS preempts a busy process
    // for tens of ms), and far below one synchronous pass, which holds the loop for all of `took`
    expect(stall).toBeLessThan(Math.min(300, took / 4));
  });

  it('refuses PUT /v1/genesis on a running node before reading the body', async () => {
    const r = await app.inject({
      method: 'PUT',
      url: '/v1/genesis',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      payload: '{"not": json' + ' '.repeat(100_000),
    });
    expect(r.statusCode).toBe(409);
    expect(r.json().error.code).toBe('GENESIS_ALREADY_SET');
  });

  it('bounds bodies of routes that declare none', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/v1/nothing',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ x: 'a'.repeat(200_000) }),
    });
    expect(r.statusCode).toBe(413);
    expect(r.json().error).toMatchObject({ code: 'BODY_TOO_LARGE', details: { unit: 'bytes' } });
  });

  it('streams a snapshot with the same JSON, and serves at most SNAPSHOTS_IN_FLIGHT_MAX at once', async () => {
    backend.entries = Array.from(
      { length: 5000 },
      (_, i) => [`acct/${i}`, new Uint8Array([i & 0xff, 1])] as [string, Uint8Array],
    );
    const one = await app.inject({ method: 'GET', url: '/v1/snapshot' });
    expect(one.statusCode).toBe(200);
    expect(one.headers['content-type']).toMatch(/^application\/json/);
    expect(one.json()).toEqual({
      height: 7,
      block: '0102',
      commit: '03',
      epochs: [{ height: 0 }],
      entries: backend.entries.map(([k, v]) => [k, toHex(v)]),
    });

    let open!: () => void;
    backend.snapshotGate = new Promise((r) => (open = r));
    const held = Array.from({ length: SNAPSHOTS_IN_FLIGHT_MAX }, () =>
      app.inject({ method: 'GET', url: '/v1/snapshot' }),
    );
    await new Promise((r) => setTimeout(r, 50));
    const busy = await app.inject({ method: 'GET', url: '/v1/snapshot' });
    expect(busy.statusCode).toBe(503);
    expect(Number(busy.headers['retry-after'])).toBeGreaterThan(0);
    expect(busy.json().error).toMatchObject({ code: 'BUSY', details: { limit: SNAPSHOTS_IN_FLIGHT_MAX } });
    open();
    for (const r of await Promise.all(held)) expect(r.statusCode).toBe(200);
    backend.snapshotGate = Promise.resolve();
    expect((await app.inject({ method: 'GET', url: '/v1/snapshot' })).statusCode).toBe(200); // slots released
  });

  it('streams pages of account txs with the same JSON and next cursor', async () => {
    const pk = toHex(generateKeyPair().publicKey);
    const page = await app.inject({ method: 'GET', url: `/v1/accounts/${pk}/txs?fromHeight=5&limit=1000` });
    expect(page.statusCode).toBe(200);
    const all = await backend.getAccountTxs(new Uint8Array(32), 5, 1000);
    const last = all.txs[999]!;
    expect(page.json()).toEqual({
      lowestHeight: 1,
      txs: all.txs.map((t) => ({
        hash: toHex(t.hash),
        height: t.height,
        index: t.index,
        code: 'OK',
        tx: toHex(t.tx),
        proof: { txRoot: toHex(t.proof.txRoot), leafIndex: t.index, treeSize: 16, path: [toHex(t.proof.path[0]!)] },
      })),
      next: { fromHeight: last.height, fromIndex: last.index + 1 },
    });
    const short = await app.inject({ method: 'GET', url: `/v1/accounts/${pk}/txs?limit=1001` });
    expect(short.statusCode).toBe(400);
  });

  it('exports the event-loop lag of the process', async () => {
    const m = await app.inject({ method: 'GET', url: '/metrics' });
    expect(m.body).toMatch(/consortia_process_event_loop_lag_seconds\{stat="max"\} [0-9.e-]+/);
    expect(m.body).toContain('consortia_process_event_loop_lag_seconds{stat="p99"}');
  });
});

describe('AdmissionQueue', () => {
  const accept = async (txs: Uint8Array[]): Promise<TxBatchItemResult[]> =>
    txs.map((b) => ({ status: 'accepted', hash: txHash(b) }));

  it('refuses a batch that would overfill it with BUSY, admitting nothing of it', async () => {
    const q = new AdmissionQueue(accept, { sliceMs: 1, stepTxs: 4, maxQueuedTxs: 10 });
    const first = q.submit(Array.from({ length: 8 }, () => new Uint8Array([1])));
    let err: unknown;
    try {
      void q.submit(Array.from({ length: 3 }, () => new Uint8Array([2])));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConsortiaError);
    expect((err as ConsortiaError).code).toBe('BUSY');
    expect((err as ConsortiaError).details).toMatchObject({ limit: 10, queued: 8 });
    expect(await first).toHaveLength(8);
    expect(q.size).toBe(0);
  });

  it('admits in the order txs came, a big batch holding a later one back for at most waitMaxMs', async () => {
    const order: string[] = [];
    let clock = 0;
    let small: Promise<TxBatchItemResult[]> | null = null;
    const q: AdmissionQueue = new AdmissionQueue(
      async (txs) => {
        order.push(txs.map((t) => t[0]).join(''));
        clock += 100;
        // the small batch comes while the big one is being admitted
        if (order.length === 2) small = q.submit(Array.from({ length: 4 }, () => new Uint8Array([2])));
        return accept(txs);
      },
      { sliceMs: 1000, stepTxs: 3, maxQueuedTxs: 1000, waitMaxMs: 250, now: () => clock },
    );
    const b = await q.submit(Array.from({ length: 100 }, () => new Uint8Array([1])));
    const s = await small!;
    // steps at 0, 100, 200 carry the big batch only; at 300 it has waited 300 ms with the small one behind it
    expect(order).toEqual(['111', '111', '111', '222', '2']);
    expect(b.filter((r) => r.status === 'accepted')).toHaveLength(9);
    expect(b.slice(9).every((r) => r.status === 'rejected' && r.code === 'MEMPOOL_BUSY')).toBe(true);
    expect(s.every((r) => r.status === 'accepted')).toBe(true);
  });

  it('admits a backlog of small batches in full steps, each batch answered with its own results', async () => {
    const steps: number[] = [];
    const q = new AdmissionQueue(
      async (txs) => {
        steps.push(txs.length);
        return txs.map((b) =>
          b[1] === 0
            ? { status: 'accepted', hash: txHash(b) }
            : { status: 'rejected', hash: txHash(b), code: 'BAD_NONCE', message: `tx ${b[0]}` },
        );
      },
      { sliceMs: 50, stepTxs: 8, maxQueuedTxs: 1000 },
    );
    // 10 batches of 3: tx i of batch j is [j * 3 + i, refused?]
    const batches = Array.from({ length: 10 }, (_, j) =>
      q.submit(Array.from({ length: 3 }, (_, i) => Uint8Array.of(j * 3 + i, i === 1 ? 1 : 0))),
    );
    const answers = await Promise.all(batches);
    expect(steps.reduce((a, b) => a + b, 0)).toBe(30);
    expect(steps.length).toBeLessThanOrEqual(5); // not one step per batch
    answers.forEach((rs, j) => {
      expect(rs.map((r) => r.status)).toEqual(['accepted', 'rejected', 'accepted']);
      expect(rs[1]).toMatchObject({ code: 'BAD_NONCE', message: `tx ${j * 3 + 1}` });
    });
  });

  /** A queue of 4-tx steps on a clock each step moves by 100 ms, txs late after 250 ms. */
  function timedQueue(limits: Partial<ConstructorParameters<typeof AdmissionQueue>[1]>) {
    const clock = { ms: 0 };
    const q = new AdmissionQueue(
      async (txs) => {
        clock.ms += 100;
        return accept(txs);
      },
      { sliceMs: 1000, stepTxs: 4, maxQueuedTxs: 1000, waitMaxMs: 250, now: () => clock.ms, ...limits },
    );
    return { q, clock };
  }

  it('refuses late batches while others wait behind them, each its own tail, and says so', async () => {
    const expiredCounts: number[] = [];
    const { q, clock } = timedQueue({
      expired: (n) => {
        expiredCounts.push(n);
        return new ConsortiaError('MEMPOOL_BUSY', 'waited too long');
      },
    });
    const first = q.submit(Array.from({ length: 10 }, () => new Uint8Array([1])));
    const second = q.submit(Array.from({ length: 10 }, () => new Uint8Array([2])));
    clock.ms = 150; // the third batch comes later, and runs out later
    const third = q.submit(Array.from({ length: 10 }, () => new Uint8Array([3])));
    const [a, b, c] = await Promise.all([first, second, third]);
    // steps at 150, 250 take 8 of the first; at 350 the first two (queued at 0) are late
    expect(a.map((r) => r.status)).toEqual([...Array(8).fill('accepted'), 'rejected', 'rejected']);
    expect(a[8]).toMatchObject({ code: 'MEMPOOL_BUSY', message: 'waited too long' });
    expect(a[8]!.hash).toEqual(txHash(new Uint8Array([1])));
    expect(b.every((r) => r.status === 'rejected' && r.code === 'MEMPOOL_BUSY')).toBe(true);
    // alone from then on, the third is paced by its own size: admitted whole
    expect(c.every((r) => r.status === 'accepted')).toBe(true);
    expect(expiredCounts).toEqual([12]);
    expect(q.size).toBe(0);
  });

  it('holds even a batch alone to waitMaxMs while the node sheds load', async () => {
    for (const overloaded of [false, true]) {
      const { q } = timedQueue({ overloaded: () => overloaded });
      const alone = await q.submit(Array.from({ length: 20 }, () => new Uint8Array([1])));
      // steps at 0, 100, 200 are within the bound; at 300 the rest has waited too long
      expect(alone.filter((r) => r.status === 'accepted')).toHaveLength(overloaded ? 12 : 20);
      if (overloaded) expect(alone[12]).toMatchObject({ status: 'rejected', code: 'MEMPOOL_BUSY' });
      expect(q.size).toBe(0);
    }
  });
});

describe('jsonListStream', () => {
  async function text(s: NodeJS.ReadableStream): Promise<string> {
    let out = '';
    for await (const c of s) out += String(c);
    return out;
  }
  it('renders exactly what JSON.stringify would, across slices', async () => {
    const items = Array.from({ length: 3000 }, (_, i) => ({ i, s: 'x'.repeat(i % 50) }));
    for (const [head, list, tail] of [
      [{}, [], {}],
      [{ a: 1 }, items.slice(0, 1), {}],
      [{ a: 1, b: 'q' }, items, { next: null }],
      [{}, items, { next: { h: 1 } }],
    ] as const) {
      const got = await text(jsonListStream(head, 'xs', list, (x) => x, tail, 0));
      expect(got).toBe(JSON.stringify({ ...head, xs: list, ...tail }));
    }
  });
});

describe('node API rate limit', () => {
  const backend = new FakeBackend('test-chain', makeSealedGenesis().sealed);
  let app: NodeApp;
  let base: string;
  beforeAll(async () => {
    app = await createNodeApi({
      backend,
      registry: new Registry(),
      limits: { ...LIMITS, rateLimit: { max: 3, windowMs: 60_000 } },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app.close();
  });

  it('answers 429 RATE_LIMITED with Retry-After past the per-client limit; probes and metrics stay unlimited', async () => {
    for (let i = 0; i < 3; i++) expect((await fetch(`${base}/v1/status`)).status).toBe(200);
    for (const path of ['/v1/status', '/v1/txs/batch', '/v1/nothing']) {
      const r = await fetch(`${base}${path}`);
      expect(r.status).toBe(429);
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      const body = (await r.json()) as { error: { code: string; details: Record<string, unknown> } };
      expect(body.error.code).toBe('RATE_LIMITED');
      expect(body.error.details).toMatchObject({ limit: 3, windowMs: 60_000 });
    }
    for (let i = 0; i < 10; i++) {
      for (const path of ['/healthz', '/readyz', '/metrics']) expect((await fetch(`${base}${path}`)).status).toBe(200);
    }
  });
});

describe('node API event streams', () => {
  const backend = new FakeBackend('test-chain', makeSealedGenesis().sealed);
  let app: NodeApp;
  let base: string;
  beforeAll(async () => {
    app = await createNodeApi({ backend, registry: new Registry(), limits: LIMITS });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app.close();
  });

  it(`caps open streams per client at SSE_STREAMS_PER_CLIENT_MAX (429) and frees a slot when one closes`, async () => {
    const acs = Array.from({ length: SSE_STREAMS_PER_CLIENT_MAX }, () => new AbortController());
    const streams = await Promise.all(acs.map((ac) => fetch(`${base}/v1/events`, { signal: ac.signal })));
    for (const s of streams) expect(s.status).toBe(200);
    const over = await fetch(`${base}/v1/events`);
    expect(over.status).toBe(429);
    expect(((await over.json()) as { error: { code: string; details: { limit: number } } }).error).toMatchObject({
      code: 'RATE_LIMITED',
      details: { limit: SSE_STREAMS_PER_CLIENT_MAX },
    });
    acs[0]!.abort();
    await streams[0]!.body?.cancel().catch(() => undefined);
    const end = Date.now() + 5000;
    let again: Response | null = null;
    while (Date.now() < end) {
      again = await fetch(`${base}/v1/events`);
      if (again.status === 200) break;
      await again.body?.cancel().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(again?.status).toBe(200);
    await again?.body?.cancel().catch(() => undefined);
    for (const [i, ac] of acs.entries()) {
      ac.abort();
      await streams[i]!.body?.cancel().catch(() => undefined);
    }
  });
});
