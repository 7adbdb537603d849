/**
 * A flood of txs with nonce gaps from many free accounts, through four real validators: every
 * validator's mempool is full of gapped txs (local submissions and gossip), yet honest txs (and
 * the gap-filler of a flooding account) are accepted and commit within a few blocks; once the
 * flood stops, the txs stuck behind gaps expire on every validator, and a client that resubmits
 * the same signed bytes gets its tx committed (and a clear answer when it is committed already).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTx, generateKeyPair, signTx, toHex, type KeyPair, type TxBody } from '../../src/chain/index.js';
import { encodeLengthPrefixed } from '../../src/node/rpc/routes/txs.js';
import { ChainNet, waitUntil, type NodeHandle } from '../harness/chain-net.js';

const POOL_TXS = 120; // mempool cap on every validator: small, so the flood is cheap
const TTL_MS = 8_000; // pending txs expire after this
const ATTACKERS = 12;
/** Flood items per batch: fewer than the pool holds, so the load-shedding gate grants each batch whole. */
const FLOOD_BATCH_TXS = 40;
const GAPPED_PER_ATTACKER = 60; // nonces 2..61 while nonce 1 never comes (within MEMPOOL_FUTURE_NONCES_MAX = 64)

const honest = Array.from({ length: 4 }, () => generateKeyPair());
const stuck = generateKeyPair(); // its nonce 0 is "lost": its nonce 1 waits behind the gap
const attackers = Array.from({ length: ATTACKERS }, () => generateKeyPair());
const net = new ChainNet({
  validators: 4,
  accounts: [...honest, stuck].map((k) => ({ publicKey: k.publicKey, balances: [{ asset: 'USD', amount: 1_000n }] })),
  nodeConfig: () => ({ mempool: { maxTxs: POOL_TXS, txTtlMs: TTL_MS } }),
});

beforeAll(async () => {
  await net.init();
  await net.startAll();
  await net.waitHeight(net.nodes, 1);
}, 90_000);
afterAll(async () => {
  await net.stop();
});

const signed = (k: KeyPair, nonce: number, body: TxBody): Uint8Array =>
  encodeTx(signTx({ chainId: net.chainId, signer: k.publicKey, nonce, body }, k.secretKey));
const anchor = (k: KeyPair, nonce: number): Uint8Array =>
  signed(k, nonce, { type: 'anchor', hash: randomBytes(32), metadata: 'flood' });
const transfer = (k: KeyPair, nonce: number): Uint8Array =>
  signed(k, nonce, { type: 'transfer', asset: 'USD', to: honest[0]!.publicKey, amount: 1n });

async function submit(
  n: NodeHandle,
  tx: Uint8Array,
  wait = false,
): Promise<{ status: number; body: Record<string, any> }> {
  const r = await fetch(`${n.api}/v1/txs${wait ? '?wait=commit&timeoutMs=30000' : ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tx: toHex(tx) }),
    signal: AbortSignal.timeout(40_000),
  });
  return { status: r.status, body: (await r.json()) as Record<string, any> };
}
async function submitBatch(n: NodeHandle, txs: Uint8Array[]): Promise<{ status: string; error?: { code: string } }[]> {
  const r = await fetch(`${n.api}/v1/txs/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: encodeLengthPrefixed(txs),
    signal: AbortSignal.timeout(20_000),
  });
  if (!r.ok) return txs.map(() => ({ status: `http ${r.status}` }));
  return ((await r.json()) as { results: { status: string; error?: { code: string } }[] }).results;
}
async function nonceOf(n: NodeHandle, k: KeyPair): Promise<number> {
  return (await net.get(n, `/v1/accounts/${toHex(k.publicKey)}`)).body?.account?.nonce ?? 0;
}
const poolSizes = async (): Promise<number[]> =>
  Promise.all(
    net.nodes.map(
      async (n) => ((await net.status(n)) as unknown as { mempool?: { txs: number } } | null)?.mempool?.txs ?? -1,
    ),
  );
const expired = async (n: NodeHandle): Promise<number> =>
  (await net.metric(n, 'consortia_mempool_rejections_total', 'reason="TX_EXPIRED"')) || 0;

describe('mempool under a flood of gapped txs', () => {
  let stuckTx: Uint8Array;

  it("a flood of gapped txs fills every validator's mempool, and honest txs still commit within a few blocks", async () => {
    // Free accounts: each creates itself (nonce 0) and then never sends nonce 1.
    const created = await submitBatch(
      net.nodes[0]!,
      attackers.map((k) => signed(k, 0, { type: 'create_account' })),
    );
    expect(created.every((r) => r.status === 'accepted')).toBe(true);
    await waitUntil(
      async () => (await Promise.all(attackers.map((k) => nonceOf(net.nodes[0]!, k)))).every((x) => x === 1),
      60_000,
      'attacker accounts created',
    );

    // The honest client whose nonce 0 is lost: its nonce 1 is acknowledged, then waits behind the gap.
    stuckTx = transfer(stuck, 1);
    expect((await submit(net.nodes[1]!, stuckTx)).status).toBe(202);

    // The flood: nonces 2..61 of every attacker, spread over the validators (gossip carries them to the others),
    // sent again and again while the honest clients work.
    const flood = attackers.map((k) => Array.from({ length: GAPPED_PER_ATTACKER }, (_, i) => anchor(k, 2 + i)));
    let flooding = true;
    const floodLoop = (async () => {
      while (flooding) {
        // In batches the gate takes whole: a batch it cuts short starts load shedding, during which a node
        // refuses gapped API txs outright (src/node/mempool/mempool.ts); the attacker here does not.
        await Promise.all(
          net.nodes.map(async (n, i) => {
            const mine = flood.filter((_, a) => a % 4 === i).flat();
            for (let j = 0; j < mine.length; j += FLOOD_BATCH_TXS)
              await submitBatch(n, mine.slice(j, j + FLOOD_BATCH_TXS)).catch(() => []);
          }),
        );
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    try {
      await waitUntil(
        async () => (await poolSizes()).every((s) => s >= POOL_TXS),
        60_000,
        "every validator's mempool full",
      );

      // Honest transfers, one to each validator: accepted (not 429) and committed within a few blocks.
      for (let round = 0; round < 2; round++) {
        await waitUntil(
          async () => (await poolSizes()).every((s) => s >= POOL_TXS),
          30_000,
          "every validator's mempool full again",
        );
        const heights = await Promise.all(net.nodes.map((n) => net.height(n)));
        const rs = await Promise.all(honest.map((k, i) => submit(net.nodes[i]!, transfer(k, round), true)));
        rs.forEach((r, i) => {
          expect(r.status, JSON.stringify(r.body)).toBe(200);
          expect(r.body).toMatchObject({ status: 'committed', code: 'OK' });
          expect(r.body.height).toBeLessThanOrEqual(heights[i]! + 5);
        });
      }
      // The gap-filler of a flooding account is not refused either.
      const filler = await submit(net.nodes[2]!, anchor(attackers[0]!, 1), true);
      expect(filler.status, JSON.stringify(filler.body)).toBe(200);
      expect(filler.body).toMatchObject({ status: 'committed', code: 'OK' });
      // Nonces too far ahead are refused with a clear 4xx.
      const far = await submit(net.nodes[3]!, anchor(attackers[1]!, 1 + 65));
      expect(far.status).toBe(422);
      expect(far.body.error.code).toBe('NONCE_TOO_FAR_AHEAD');
    } finally {
      flooding = false;
      await floodLoop;
    }
  });

  it('txs stuck behind a gap expire on every validator; the client resubmits the same bytes and gets them committed', async () => {
    // Nothing but expiry can take the remaining gapped txs out.
    await waitUntil(
      async () => (await poolSizes()).every((s) => s === 0),
      TTL_MS * 4 + 30_000,
      'every mempool drained by expiry',
    );
    for (const n of net.nodes) expect(await expired(n)).toBeGreaterThan(0);

    // The stuck client's nonce 1 is gone: its new nonce 0 commits, and its account does not move past 1.
    const zero = await submit(net.nodes[0]!, transfer(stuck, 0), true);
    expect(zero.body).toMatchObject({ status: 'committed', code: 'OK' });
    const h = zero.body.height as number;
    await net.waitHeight(net.nodes, h + 2);
    expect(await nonceOf(net.nodes[0]!, stuck)).toBe(1);

    // It resubmits the same signed bytes of nonce 1 (no commit within the TTL): accepted, then committed.
    const again = await submit(net.nodes[3]!, stuckTx, true);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toMatchObject({ status: 'committed', code: 'OK' });
    // Resubmitting a committed tx is a clear, safe answer on every route, never BAD_NONCE (asked of
    // each node once it has the block: a node one block behind would rightly take it as pending).
    await net.waitHeight(net.nodes, again.body.height as number);
    for (const n of net.nodes) {
      const once = await submit(n, stuckTx);
      expect(once.status).toBe(200);
      expect(once.body).toMatchObject({ status: 'committed', height: again.body.height, index: again.body.index });
    }
    const batch = await submitBatch(net.nodes[1]!, [stuckTx]);
    expect(batch[0]).toMatchObject({ status: 'accepted' });
  });
});
