import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTx, generateKeyPair, signTx } from '../../src/chain/index.js';
import { encodeLengthPrefixed } from '../../src/node/rpc/routes/txs.js';
import { ChainNet, waitUntil, type NodeHandle } from '../harness/chain-net.js';

/**
 * Abusive API requests against two validators of a real 4-validator chain, all at once: batches
 * over the item limit (800 KB of empty items: 200k of them) and over the body limit, and batches
 * AT the item limit of tiny junk items and of well-formed txs whose signatures must be checked.
 * The oversized ones must get their 413 and finality must go on: the chain's height, polled on the
 * two validators left alone, never stands still for more than a few block intervals.
 * (Before the limits, one 800 KB batch held a validator's event loop for ~4 s, and the same
 * batch at two validators stopped finality for as long.)
 */

// Same figures as src/node/rpc/limits.ts (TXS_PER_BATCH_MAX, BATCH_BODY_BYTES_MAX), written out so
// that this test runs unchanged against code that has no such limits.
const TXS_PER_BATCH_MAX = 4096;
/** src/node/mempool/backlog-gate.ts MEMPOOL_BACKLOG_FLOOR_TXS: what may be pending on a chain committing nothing. */
const MEMPOOL_BACKLOG_FLOOR_TXS = 2_000;
const BATCH_BODY_BYTES_MAX = 4 * 1024 * 1024;
const BLOCK_INTERVAL_MS = 300;
/** "A few block intervals": generous for 4 validators sharing 2 busy cores, far below a stall. */
const MAX_FINALITY_GAP_MS = 8 * BLOCK_INTERVAL_MS;
const ROUNDS = 3;

const net = new ChainNet({ validators: 4, params: { blockIntervalMs: BLOCK_INTERVAL_MS } });
beforeAll(async () => {
  await net.init();
  await net.startAll();
  await net.waitHeight(net.nodes, 2);
}, 120_000);
afterAll(async () => {
  await net.stop();
});

/**
 * POST a batch with node:http. A body over the limit is refused by its Content-Length: the node
 * answers 413 at once and closes, which races with sending the body (the client sees EPIPE instead
 * of the answer), so with `headersFirst` the body follows only if no answer came within 5 s.
 */
function post(
  n: NodeHandle,
  body: Buffer | string,
  opts: { json?: boolean; headersFirst?: boolean } = {},
): Promise<{ status: number; body: any; ms: number }> {
  const t0 = performance.now();
  const payload = typeof body === 'string' ? Buffer.from(body) : body;
  return new Promise((resolve, reject) => {
    let answered = false;
    let later: NodeJS.Timeout | undefined;
    const req = request(
      `${n.api}/v1/txs/batch`,
      {
        method: 'POST',
        headers: {
          'content-type': opts.json ? 'application/json' : 'application/octet-stream',
          'content-length': payload.length,
        },
        timeout: 120_000,
      },
      (res) => {
        answered = true;
        clearTimeout(later);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          let parsed: unknown = null;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            /* no JSON body */
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, ms: Math.round(performance.now() - t0) });
          req.destroy();
        });
      },
    );
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (opts.headersFirst) {
      req.flushHeaders();
      later = setTimeout(() => req.end(payload), 5_000);
    } else req.end(payload);
  });
}

/** Max time (ms) the height stood still, polling `nodes` every 50 ms until stop() resolves. */
function watchFinality(nodes: NodeHandle[]): { stop: () => Promise<{ maxGapMs: number; heights: number }> } {
  let running = true;
  let last = { at: Date.now(), h: -1 };
  let maxGapMs = 0;
  let first = -1;
  const loop = (async () => {
    while (running) {
      const hs = await Promise.all(nodes.map((n) => net.height(n)));
      const h = Math.max(...hs);
      const now = Date.now();
      if (first < 0) first = h;
      if (h > last.h) {
        if (last.h >= 0) maxGapMs = Math.max(maxGapMs, now - last.at);
        last = { at: now, h };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    maxGapMs = Math.max(maxGapMs, Date.now() - last.at); // a stall still going on counts too
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { maxGapMs, heights: last.h - first };
    },
  };
}

describe('abusive requests do not stall finality', () => {
  it('answers oversized batches with 413 and at-limit batches item by item while blocks keep finalizing', async () => {
    const targets = [net.nodes[1]!, net.nodes[2]!];
    const watched = [net.nodes[0]!, net.nodes[3]!];

    // well-formed txs signed by the wrong key, one signer each at nonce 0: nothing refuses them
    // before the signature check, so each costs a verify
    const key = generateKeyPair();
    const wrongSig = (): Uint8Array =>
      encodeTx(
        signTx(
          { chainId: net.chainId, signer: generateKeyPair().publicKey, nonce: 0, body: { type: 'create_account' } },
          key.secretKey,
        ),
      );
    const verifyHeavy = Buffer.from(encodeLengthPrefixed(Array.from({ length: TXS_PER_BATCH_MAX }, wrongSig)));
    const tinyAtLimit = Buffer.from(
      encodeLengthPrefixed(Array.from({ length: TXS_PER_BATCH_MAX }, (_, i) => new Uint8Array([i & 0xff, 1]))),
    );
    const emptyItems800k = Buffer.alloc(800_000); // 200k zero-length items
    const overBody = Buffer.alloc(BATCH_BODY_BYTES_MAX + 1024);
    const jsonTooMany = JSON.stringify(Array.from({ length: 200_000 }, () => ''));

    const heightBefore = await net.height(watched[0]!);
    const LAG = 'consortia_process_event_loop_lag_seconds';
    for (const n of targets) await net.metric(n, LAG, 'stat="max"'); // a scrape resets the window
    const watch = watchFinality(watched);
    await new Promise((r) => setTimeout(r, 1000)); // some calm first: the gap also covers the run-up

    const results: { kind: string; node: NodeHandle; status: number; body: any; ms: number }[] = [];
    const send = async (
      kind: string,
      n: NodeHandle,
      body: Buffer | string,
      opts: { json?: boolean; headersFirst?: boolean } = {},
    ): Promise<void> => {
      results.push({ kind, node: n, ...(await post(n, body, opts)) });
    };
    for (let round = 0; round < ROUNDS; round++) {
      await Promise.all(
        targets.flatMap((n) => [
          send('emptyItems800k', n, emptyItems800k),
          send('jsonTooMany', n, jsonTooMany, { json: true }),
          send('overBody', n, overBody, { headersFirst: true }),
          send('tinyAtLimit', n, tinyAtLimit),
          send('verifyHeavy', n, verifyHeavy),
        ]),
      );
    }
    // and a few blocks after the last answer
    const h = await net.height(watched[0]!);
    await waitUntil(async () => (await net.height(watched[0]!)) >= h + 3, 60_000, 'blocks after the abuse');
    const { maxGapMs, heights } = await watch.stop();
    const lagS = await Promise.all(targets.map((n) => net.metric(n, LAG, 'stat="max"')));
    const summary = results.map((r) => `${r.kind}:${r.status}:${r.ms}ms`).join(' ');
    console.log(
      `abuse: max finality gap ${maxGapMs} ms over ${heights} heights (from ${heightBefore}); attacked nodes' longest event-loop stall ${lagS.map((x) => `${Math.round(x * 1000)} ms`).join(', ')}; ${summary}`,
    );

    expect(maxGapMs, `finality stood still for ${maxGapMs} ms`).toBeLessThan(MAX_FINALITY_GAP_MS);
    for (const lag of lagS) expect(lag * 1000).toBeLessThan(MAX_FINALITY_GAP_MS);

    for (const r of results.filter((x) => x.kind === 'emptyItems800k' || x.kind === 'jsonTooMany')) {
      expect(r.status, `${r.kind}`).toBe(413);
      expect(r.body?.error).toMatchObject({
        code: 'BATCH_TOO_LARGE',
        details: { limit: TXS_PER_BATCH_MAX, unit: 'txs' },
      });
    }
    for (const r of results.filter((x) => x.kind === 'overBody')) {
      expect(r.status).toBe(413);
      expect(r.body.error).toMatchObject({
        code: 'BODY_TOO_LARGE',
        details: { limit: BATCH_BODY_BYTES_MAX, unit: 'bytes' },
      });
    }
    for (const r of results.filter((x) => x.kind === 'tinyAtLimit' || x.kind === 'verifyHeavy')) {
      // answered item by item, or refused whole by load shedding when other at-limit batches filled the node
      if (r.status === 429) {
        expect(r.body.error.code, `${r.kind}`).toBe('MEMPOOL_BUSY');
        continue;
      }
      expect(r.status, `${r.kind}`).toBe(200);
      expect(r.body.results).toHaveLength(TXS_PER_BATCH_MAX);
      expect(r.body.accepted).toBe(0);
    }
    // Every item is verified and refused, except the tail past the node's load-shedding bound,
    // refused before any work. The gate grants a batch a prefix of at most the bound (the backlog
    // floor on a chain committing nothing); how much each batch gets depends on which at-limit
    // batch of a round reaches the node first, so the count is bounded, not fixed.
    for (const r of results.filter((x) => x.kind === 'verifyHeavy' && x.status === 200)) {
      const codes: string[] = r.body.results.map((i: any) => i.error.code as string);
      const verified = codes.filter((c) => c === 'BAD_SIGNATURE').length;
      expect(
        codes.slice(0, verified).every((c) => c === 'BAD_SIGNATURE'),
        'verified items come first',
      ).toBe(true);
      expect(
        codes.slice(verified).every((c) => c === 'MEMPOOL_BUSY'),
        'the refused tail is MEMPOOL_BUSY',
      ).toBe(true);
      expect(verified, 'verified past the shedding bound').toBeLessThanOrEqual(MEMPOOL_BACKLOG_FLOOR_TXS);
    }
    // each attacked node did verify signatures of some of them
    for (const n of targets) {
      const verified = results
        .filter((x) => x.kind === 'verifyHeavy' && x.status === 200 && x.node === n)
        .flatMap((r) => r.body.results.filter((i: any) => i.error.code === 'BAD_SIGNATURE'));
      expect(verified.length, `signatures verified at ${n.api}`).toBeGreaterThan(0);
    }

    // the attacked nodes still answer promptly and agree with the others
    for (const n of targets) expect((await net.status(n))?.height).toBeGreaterThan(heightBefore);
    const top = Math.min(...(await Promise.all(net.nodes.map((n) => net.height(n)))));
    await net.agreedHashes(net.nodes, top);
  });
});
