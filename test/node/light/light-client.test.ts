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
import { makeFixture } from '../../chain/fixtures.js';

const fx = makeFixture();
const chain = buildChain(12, paymentsToBob(fx), fx);
const bobHex = toHex(fx.bob.publicKey);

/** A full node over the built chain; `lie` alters its answers. */
function server(lie: 'none' | 'balance' | 'header'): FetchJson {
  return async (url) => {
    const u = new URL(url);
    if (u.pathname === '/v1/headers') {
      const from = Number(u.searchParams.get('from'));
      const list = chain.encoded.filter((e) => e.height >= from).map((e) => ({ height: e.height, header: toHex(e.header), commit: toHex(e.commit) }));
      if (lie === 'header' && list[0]) list[0].header = list[0].header.slice(0, -2) + (list[0].header.endsWith('00') ? '01' : '00');
      return { status: 200, body: { headers: list } };
    }
    if (u.pathname === `/v1/accounts/${bobHex}`) {
      const b = chain.blocks[11]!;
      const keys = [StateKeys.account(fx.bob.publicKey), StateKeys.balance(fx.bob.publicKey, 'USD')];
      const proof = keys.map((k) => ({ key: k, value: b.state.get(k) ? toHex(b.state.get(k)!) : null, proof: stateProofToJSON(b.state.prove(k)) }));
      if (lie === 'balance') proof[1]!.value = toHex(encodeAmount(1_000_000n));
      return { status: 200, body: { height: 12, stateRoot: toHex(b.block.header.stateRoot), proof } };
    }
    if (u.pathname === `/v1/accounts/${bobHex}/txs`) {
      const txs = chain.blocks.map((b) => {
        const p = merkleProof(b.block.txs, 0);
        return { hash: '00', height: b.block.header.height, index: 0, code: 'OK', tx: toHex(b.block.txs[0]!), proof: { txRoot: toHex(b.block.header.txRoot), leafIndex: 0, treeSize: p.total, path: p.path.map(toHex) } };
      });
      if (lie === 'balance') txs[3]!.tx = txs[4]!.tx; // a tx moved to another block
      return { status: 200, body: { lowestHeight: 1, txs } };
    }
    return { status: 404, body: null };
  };
}

async function client(sources: Record<string, FetchJson>) {
  const dir = mkdtempSync(join(tmpdir(), 'light-'));
  const store = await LightStore.open(dir);
  const metrics = createNodeMetrics(new Registry());
  const fetchJson: FetchJson = (url) => { const src = Object.keys(sources).find((s) => url.startsWith(s))!; return sources[src]!(url); };
  const c = new LightClient({ store, trust: genesisTrust(fx.genesis), sources: Object.keys(sources), follow: [bobHex], logger: createLogger('silent'), metrics, fetchJson });
  return { c, store, metrics, done: async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); } };
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
    } finally { await done(); }
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
    } finally { await liar.done(); }

    const tamper = await client({ 'http://liar': server('balance') });
    try {
      await tamper.c.syncHeaders();
      expect(await tamper.c.syncAccount(bobHex)).toBeUndefined();
      expect(await tamper.store.account(bobHex)).toBeUndefined(); // nothing unproven is kept
      expect(tamper.c.rejected).toBe(1);
      expect(await tamper.c.syncAccountTxs(bobHex)).toBe(0); // benched
    } finally { await tamper.done(); }

    const misplaced = await client({ 'http://liar': server('balance') });
    try {
      await misplaced.c.syncHeaders();
      expect(await misplaced.c.syncAccountTxs(bobHex)).toBe(0);
      expect(misplaced.c.rejected).toBe(1);
      expect(await misplaced.store.txs(bobHex, 1, 100)).toEqual([]);
    } finally { await misplaced.done(); }
  });
});
