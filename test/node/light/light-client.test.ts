import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { StateKeys, merkleProof, stateProofToJSON, toHex, encodeAmount } from '../../../src/chain/index.js';
import { LightClient, LightStore, type FetchJson } from '../../../src/node/light/index.js';
import { genesisTrust } from '../../../src/node/snapshot/index.js';
import { createNodeMetrics } from '../../../src/node/metrics.js';
import { createLogger } from '../../../src/lib/logging.js';
import { buildChain, paymentsToBob } from '../../chain/chain-builder.js';
import { makeFixture, stx } from '../../chain/fixtures.js';
import { accountsOfTx } from '../../../src/node/engine/tx-accounts.js';

const fx = makeFixture();
const chain = buildChain(12, paymentsToBob(fx), fx);
const bobHex = toHex(fx.bob.publicKey);

type Built = ReturnType<typeof buildChain>;
/** GET /v1/headers?from= over a built chain. */
const headersFrom = (c: Built, from: number) =>
  c.encoded
    .filter((e) => e.height >= from)
    .map((e) => ({ height: e.height, header: toHex(e.header), commit: toHex(e.commit) }));
/** GET /v1/accounts/:pk over a built chain at `height`: the account and its USD balance, with proofs. */
function accountAnswer(c: Built, pk: Uint8Array, height: number) {
  const b = c.blocks[height - 1]!;
  const keys = [StateKeys.account(pk), StateKeys.balance(pk, 'USD')];
  const proof = keys.map((k) => ({
    key: k,
    value: b.state.get(k) ? toHex(b.state.get(k)!) : null,
    proof: stateProofToJSON(b.state.prove(k)),
  }));
  return { height, stateRoot: toHex(b.block.header.stateRoot), proof };
}

/** A full node over the built chain; `lie` alters its answers. */
function server(lie: 'none' | 'balance' | 'header'): FetchJson {
  return async (url) => {
    const u = new URL(url);
    if (u.pathname === '/v1/headers') {
      const list = headersFrom(chain, Number(u.searchParams.get('from')));
      if (lie === 'header' && list[0])
        list[0].header = list[0].header.slice(0, -2) + (list[0].header.endsWith('00') ? '01' : '00');
      return { status: 200, body: { headers: list } };
    }
    if (u.pathname === `/v1/accounts/${bobHex}`) {
      const body = accountAnswer(chain, fx.bob.publicKey, 12);
      if (lie === 'balance') body.proof[1]!.value = toHex(encodeAmount(1_000_000n));
      return { status: 200, body };
    }
    if (u.pathname === `/v1/accounts/${bobHex}/txs`) {
      const txs = chain.blocks.map((b) => {
        const p = merkleProof(b.block.txs, 0);
        return {
          hash: '00',
          height: b.block.header.height,
          index: 0,
          code: 'OK',
          tx: toHex(b.block.txs[0]!),
          proof: { txRoot: toHex(b.block.header.txRoot), leafIndex: 0, treeSize: p.total, path: p.path.map(toHex) },
        };
      });
      if (lie === 'balance') txs[3]!.tx = txs[4]!.tx; // a tx moved to another block
      return { status: 200, body: { lowestHeight: 1, txs } };
    }
    return { status: 404, body: null };
  };
}

async function client(sources: Record<string, FetchJson>, follow = bobHex, txPageSize?: number) {
  const dir = mkdtempSync(join(tmpdir(), 'light-'));
  const store = await LightStore.open(dir);
  const metrics = createNodeMetrics(new Registry());
  const fetchJson: FetchJson = (url) => {
    const src = Object.keys(sources).find((s) => url.startsWith(s))!;
    return sources[src]!(url);
  };
  const c = new LightClient({
    store,
    trust: genesisTrust(fx.genesis),
    sources: Object.keys(sources),
    follow: [follow],
    logger: createLogger('silent'),
    metrics,
    fetchJson,
    ...(txPageSize ? { txPageSize } : {}),
  });
  return {
    c,
    store,
    metrics,
    done: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('LightClient', () => {
  it('verifies headers, the followed balance and txs from an honest full node', async () => {
    const { c, store, metrics, done } = await client({ 'http://honest': server('none') });
    try {
      expect(await c.syncHeaders()).toBe(12);
      expect(c.trust.height).toBe(12);
      const acct = await c.syncAccount(bobHex);
      expect(acct?.balances).toEqual([{ asset: 'USD', amount: '36' }]);
      expect(await c.syncAccountTxs(bobHex)).toBe(12);
      expect((await store.txs(bobHex, 1, 100)).length).toBe(12);
      expect((await metrics.lightVerifiedHeaders.get()).values[0]!.value).toBe(12);
      expect(c.rejected).toBe(0);
    } finally {
      await done();
    }
  });

  it('rejects a lying node (forged header, tampered proof, misplaced tx), counts it and falls back to an honest one', async () => {
    const liar = await client({ 'http://liar': server('header'), 'http://honest': server('none') });
    try {
      // the liar's first header fails verification: nothing of it is stored, the honest node is asked next
      expect(await liar.c.syncHeaders()).toBe(12);
      expect(liar.c.rejected).toBe(1);
      expect(await liar.c.syncHeaders()).toBe(0);
      expect(liar.c.rejected).toBe(1); // benched, not asked again at once
      expect((await liar.metrics.lightRejectedProofs.get()).values[0]!.value).toBe(1);
    } finally {
      await liar.done();
    }

    const tamper = await client({ 'http://liar': server('balance') });
    try {
      await tamper.c.syncHeaders();
      expect(await tamper.c.syncAccount(bobHex)).toBeUndefined();
      expect(await tamper.store.account(bobHex)).toBeUndefined(); // nothing unproven is kept
      expect(tamper.c.rejected).toBe(1);
      expect(await tamper.c.syncAccountTxs(bobHex)).toBe(0); // benched
    } finally {
      await tamper.done();
    }

    const misplaced = await client({ 'http://liar': server('balance') });
    try {
      await misplaced.c.syncHeaders();
      expect(await misplaced.c.syncAccountTxs(bobHex)).toBe(0);
      expect(misplaced.c.rejected).toBe(1);
      expect(await misplaced.store.txs(bobHex, 1, 100)).toEqual([]);
    } finally {
      await misplaced.done();
    }
  });
});

describe('LightClient: txs a full node leaves out', () => {
  // alice pays bob in every block (nonce h-1) up to 12, then 3 times in block 13 (nonces 12-14);
  // at height 6 a faulty proposer also included a tx with alice as signer and her next nonce but a
  // forged signature (committed as BAD_SIGNATURE)
  const forged = stx(fx.alice, 4, { type: 'transfer', asset: 'USD', to: fx.bob.publicKey, amount: 1n });
  forged[forged.length - 1]! ^= 1;
  const pay = paymentsToBob(fx);
  const transfer = (nonce: number): Uint8Array =>
    stx(fx.alice, nonce, { type: 'transfer', asset: 'USD', to: fx.bob.publicKey, amount: 1n });
  const ac = buildChain(
    13,
    (h) => (h === 6 ? [forged, ...pay(h)] : h === 13 ? [12, 13, 14].map(transfer) : pay(h)),
    fx,
  );
  const aliceHex = toHex(fx.alice.publicKey);

  /** A full node over `ac` serving alice; 'omit' leaves out her tx of height 5, 'pruned' kept only heights >= 6. */
  function aliceServer(mode: 'honest' | 'omit' | 'pruned'): FetchJson {
    return async (url) => {
      const u = new URL(url);
      if (u.pathname === '/v1/headers')
        return { status: 200, body: { headers: headersFrom(ac, Number(u.searchParams.get('from'))) } };
      if (u.pathname === `/v1/accounts/${aliceHex}`)
        return { status: 200, body: accountAnswer(ac, fx.alice.publicKey, 13) };
      if (u.pathname === `/v1/accounts/${aliceHex}/txs`) {
        const lowestHeight = mode === 'pruned' ? 6 : 1;
        const fromHeight = Number(u.searchParams.get('fromHeight'));
        const fromIndex = Number(u.searchParams.get('fromIndex') ?? 0);
        const after = (h: number, i: number): boolean =>
          fromHeight < lowestHeight ? h >= lowestHeight : h > fromHeight || (h === fromHeight && i >= fromIndex);
        const txs = ac.blocks
          .filter((b) => !(mode === 'omit' && b.block.header.height === 5))
          .flatMap((b) =>
            b.block.txs.flatMap((t, i) => {
              const h = b.block.header.height;
              if (!after(h, i) || !accountsOfTx(t).includes(aliceHex)) return [];
              const p = merkleProof(b.block.txs, i);
              return [
                {
                  hash: '00',
                  height: h,
                  index: i,
                  code: 'OK',
                  tx: toHex(t),
                  proof: {
                    txRoot: toHex(b.block.header.txRoot),
                    leafIndex: i,
                    treeSize: p.total,
                    path: p.path.map(toHex),
                  },
                },
              ];
            }),
          )
          .slice(0, Number(u.searchParams.get('limit')));
        return { status: 200, body: { lowestHeight, txs } };
      }
      return { status: 404, body: null };
    };
  }

  async function aliceClient(sources: Record<string, FetchJson>, txPageSize?: number) {
    const cl = await client(sources, aliceHex, txPageSize);
    await cl.c.syncHeaders();
    return cl;
  }

  it('an honest list adds up: her txs show every nonce below her proven one (the forged-signature tx counts for nothing)', async () => {
    const { c, store, done } = await aliceClient({ 'http://honest': aliceServer('honest') });
    try {
      expect((await c.syncAccount(aliceHex))?.account?.nonce).toBe(15);
      expect(await c.syncAccountTxs(aliceHex)).toBe(16);
      expect(await store.sentNext(aliceHex)).toBe(15);
      expect(await c.checkSentTxs(aliceHex)).toBe(true);
      expect(c.rejected).toBe(0);
    } finally {
      await done();
    }
  });

  it('a list that leaves out a tx she sent is rejected and fetched again from an honest node', async () => {
    const { c, store, metrics, done } = await aliceClient({
      'http://liar': aliceServer('omit'),
      'http://honest': aliceServer('honest'),
    });
    try {
      await c.syncAccount(aliceHex); // the liar's state proof is true
      // its list proves every tx it holds, but nonce 4 is missing (the forged one does not stand in for it)
      expect(await c.syncAccountTxs(aliceHex)).toBe(15);
      expect(c.rejected).toBe(1);
      expect((await metrics.lightRejectedProofs.get()).values[0]!.value).toBe(1);
      expect(await store.txCursor(aliceHex)).toEqual({ height: 1, index: 0 }); // starts over
      // the liar is benched: the honest node serves the whole list and it adds up
      expect(await c.syncAccountTxs(aliceHex)).toBe(16);
      expect(await store.sentNext(aliceHex)).toBe(15);
      expect(c.rejected).toBe(1);
      expect((await store.txs(aliceHex, 1, 100)).map((t) => (t as { height: number }).height)).toContain(5);
    } finally {
      await done();
    }
  });

  it('a node that pruned the heights asked for is skipped, not taken for a liar', async () => {
    const { c, store, done } = await aliceClient({
      'http://ordinary': aliceServer('pruned'),
      'http://honest': aliceServer('honest'),
    });
    try {
      await c.syncAccount(aliceHex);
      expect(await c.syncAccountTxs(aliceHex)).toBe(16);
      expect(await store.sentNext(aliceHex)).toBe(15);
      expect(c.rejected).toBe(0);
    } finally {
      await done();
    }
  });

  it('pages through a long list, inside one block too, and still counts every nonce once', async () => {
    // 2 txs per page: block 13 holds 3 of hers, so a page ends inside it
    const { c, store, done } = await aliceClient({ 'http://honest': aliceServer('honest') }, 2);
    try {
      await c.syncAccount(aliceHex);
      let total = 0;
      for (let i = 0; i < 20; i++) total += await c.syncAccountTxs(aliceHex);
      expect(total).toBe(16);
      expect((await store.txs(aliceHex, 13, 10)).map((t) => (t as { index: number }).index)).toEqual([0, 1, 2]);
      expect(await store.sentNext(aliceHex)).toBe(15);
      expect(await c.checkSentTxs(aliceHex)).toBe(true);
      expect(c.rejected).toBe(0);
    } finally {
      await done();
    }
  });
});
