/**
 * Four real validators offered far more than they can commit: clients that send as fast as the
 * nodes answer (every account keeps txs in flight; a refused tx is sent again, as a client does
 * after Retry-After). The nodes must refuse the excess early (429 / per-item MEMPOOL_BUSY with a
 * Retry-After) instead of queueing it, keep their backlog of executable txs bounded, and keep
 * finalizing blocks the whole time; every tx they accepted commits once the load stops, with one
 * hash per height on every node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTx, generateKeyPair, signTx, toHex, txHash, type KeyPair } from '../../src/chain/index.js';
import { encodeLengthPrefixed } from '../../src/node/rpc/routes/txs.js';
import { ChainNet, waitUntil, type NodeHandle } from '../harness/chain-net.js';

const ACCOUNTS_PER_NODE = 250;
const NONCES_PER_ACCOUNT = 40; // presigned: 4 x 250 x 40 = 40,000 txs
const IN_FLIGHT_PER_ACCOUNT = 4; // nonces of one account in one request
const OVERLOAD_MS = 20_000;
const BLOCK_INTERVAL_MS = 500;
const BACKLOG_TARGET_MS = 1_000;
const FLOOR_TXS = 500;

const accounts: KeyPair[] = Array.from({ length: 4 * ACCOUNTS_PER_NODE }, () => generateKeyPair());
const net = new ChainNet({
  validators: 4,
  params: { blockIntervalMs: BLOCK_INTERVAL_MS, maxBlockTxs: 10_000 },
  accounts: accounts.map((a) => ({ publicKey: a.publicKey, balances: [{ asset: 'USD', amount: 1_000_000n }] })),
  nodeConfig: () => ({ mempool: { backlogTargetMs: BACKLOG_TARGET_MS, backlogFloorTxs: FLOOR_TXS } }),
});

beforeAll(async () => {
  await net.init();
  await net.startAll();
  await net.waitHeight(net.nodes, 2);
}, 120_000);
afterAll(async () => {
  await net.stop();
});

interface Answer {
  status: number;
  retryAfter: string | null;
  code: string | null;
  results: { status: string; error?: { code: string; retryAfterSeconds?: number } }[] | null;
}
async function post(n: NodeHandle, txs: Uint8Array[]): Promise<Answer> {
  const r = await fetch(`${n.api}/v1/txs/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: encodeLengthPrefixed(txs),
    signal: AbortSignal.timeout(60_000),
  });
  const body = (await r.json()) as { results?: Answer['results']; error?: { code: string } };
  return {
    status: r.status,
    retryAfter: r.headers.get('retry-after'),
    code: body.error?.code ?? null,
    results: body.results ?? null,
  };
}

describe('overload: more offered than the chain can commit', () => {
  it('refuses the excess early, keeps finalizing blocks and commits everything it accepted', async () => {
    // presigned per account: nonces 0..NONCES_PER_ACCOUNT-1
    const signed = accounts.map((k, a) =>
      Array.from({ length: NONCES_PER_ACCOUNT }, (_, nonce) =>
        encodeTx(
          signTx(
            {
              chainId: net.chainId,
              signer: k.publicKey,
              nonce,
              body: { type: 'transfer', asset: 'USD', to: accounts[(a + 1) % accounts.length]!.publicKey, amount: 1n },
            },
            k.secretKey,
          ),
        ),
      ),
    );
    const next = accounts.map(() => 0); // next nonce to send (all below it were accepted)
    const accepted = new Set<string>();
    let busyItems = 0;
    let busyBatches = 0;
    const retryAfters = new Set<string>();
    const otherRefusals: string[] = [];
    const startHeight = Math.min(...(await Promise.all(net.nodes.map((n) => net.height(n)))));
    const maxExecutable = [0, 0, 0, 0];

    const until = performance.now() + OVERLOAD_MS;
    // one client per node, each sending its accounts' next nonces as fast as the node answers
    const client = async (i: number): Promise<void> => {
      const n = net.nodes[i]!;
      const mine = Array.from({ length: ACCOUNTS_PER_NODE }, (_, k) => i * ACCOUNTS_PER_NODE + k);
      while (performance.now() < until) {
        const sent: { a: number; nonce: number }[] = [];
        for (const a of mine)
          for (let nonce = next[a]!; nonce < Math.min(NONCES_PER_ACCOUNT, next[a]! + IN_FLIGHT_PER_ACCOUNT); nonce++)
            sent.push({ a, nonce });
        if (sent.length === 0) return;
        const r = await post(
          n,
          sent.map((s) => signed[s.a]![s.nonce]!),
        );
        if (r.status === 429) {
          busyBatches++;
          if (r.code !== 'MEMPOOL_BUSY') otherRefusals.push(`batch ${r.code}`);
          if (r.retryAfter) retryAfters.add(r.retryAfter);
          continue; // everything is sent again: the node's answer is cheap when it sheds
        }
        expect(r.status).toBe(200);
        // an account moves on past the txs accepted in order; anything after its first refusal is sent again
        const stopped = new Set<number>();
        r.results!.forEach((res, k) => {
          const s = sent[k]!;
          if (stopped.has(s.a)) return;
          if (res.status === 'accepted') {
            accepted.add(toHex(txHash(signed[s.a]![s.nonce]!)));
            next[s.a] = s.nonce + 1;
          } else {
            stopped.add(s.a);
            if (res.error?.code === 'MEMPOOL_BUSY') {
              busyItems++;
              if (!(Number(res.error.retryAfterSeconds) >= 1))
                otherRefusals.push('MEMPOOL_BUSY without retryAfterSeconds');
            } else if (res.error?.code !== 'ACCOUNT_MEMPOOL_FULL') otherRefusals.push(res.error?.code ?? res.status);
          }
        });
      }
    };
    const sampler = (async () => {
      while (performance.now() < until) {
        const v = await Promise.all(
          net.nodes.map((n) => net.metric(n, 'consortia_mempool_executable_txs').catch(() => 0)),
        );
        v.forEach((x, i) => {
          maxExecutable[i] = Math.max(maxExecutable[i]!, x);
        });
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    await Promise.all([0, 1, 2, 3].map(client).concat(sampler));
    const endHeight = Math.min(...(await Promise.all(net.nodes.map((n) => net.height(n)))));

    // the excess was refused early, with a stable code and a Retry-After, and nothing else went wrong
    expect(busyItems + busyBatches).toBeGreaterThan(0);
    if (busyBatches > 0) expect(retryAfters.size).toBeGreaterThan(0);
    expect(otherRefusals).toEqual([]);
    // the backlog stayed bounded: at most what was admitted before the bound was seen, far from the
    // pool's 20,000 (one client request can carry 1,000 txs past the bound while it is admitted)
    for (const x of maxExecutable) expect(x).toBeLessThan(FLOOR_TXS * 20);

    // blocks kept coming during the overload: header times of the blocks finalized in it
    expect(endHeight - startHeight).toBeGreaterThanOrEqual(5);
    const times: number[] = [];
    for (let h = startHeight; h <= endHeight; h++) {
      const b = (await net.block(net.nodes[0]!, h)) as { header: { time: number } } | null;
      times.push(b!.header.time);
    }
    const gaps = times.slice(1).map((t, k) => t - times[k]!);
    // (a stall is a gap of many round timeouts; this allows a slow shared host 20 block intervals)
    expect(Math.max(...gaps)).toBeLessThan(20 * BLOCK_INTERVAL_MS);

    // every accepted tx commits once the load stops (none was lost by shedding): the pools empty
    // and each account's nonce on chain is past the last tx of it that was accepted
    expect(accepted.size).toBeGreaterThan(0);
    await waitUntil(
      async () => (await Promise.all(net.nodes.map((n) => net.status(n)))).every((st) => st?.mempool?.txs === 0),
      180_000,
      'every mempool empty',
    );
    const nonces: number[] = [];
    for (let a = 0; a < accounts.length; a += 50) {
      const batch = accounts
        .slice(a, a + 50)
        .map((k) => net.get(net.nodes[a % 4]!, `/v1/accounts/${toHex(k.publicKey)}`));
      for (const r of await Promise.all(batch)) nonces.push(r.body?.account?.nonce ?? 0);
    }
    expect(nonces).toEqual(next);
    console.log(
      `overload: ${accepted.size} txs accepted and committed, ${busyBatches} batches and ${busyItems} items refused MEMPOOL_BUSY, ` +
        `heights ${startHeight}..${endHeight} in ${OVERLOAD_MS} ms, longest gap between blocks ${Math.max(...gaps)} ms, ` +
        `largest executable backlog per node ${maxExecutable.join('/')}`,
    );
    const h = Math.min(...(await Promise.all(net.nodes.map((n) => net.height(n)))));
    await net.agreedHashes(net.nodes, h);
  }, 400_000);
});
