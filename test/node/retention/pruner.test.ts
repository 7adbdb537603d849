import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { toHex, txHash } from '../../../src/chain/index.js';
import { ChainStore, StoreKeys } from '../../../src/node/store/index.js';
import { Pruner } from '../../../src/node/retention/index.js';
import { createNodeMetrics } from '../../../src/node/metrics.js';
import { createLogger } from '../../../src/lib/logging.js';
import { buildChain } from '../../chain/chain-builder.js';
import { makeFixture, stx } from '../../chain/fixtures.js';

const logger = createLogger('silent');
const fx = makeFixture();
const chain = buildChain(
  30,
  (h) => [stx(fx.alice, h - 1, { type: 'transfer', asset: 'USD', to: fx.bob.publicKey, amount: 1n })],
  fx,
);

async function filledStore(dir: string): Promise<ChainStore> {
  const s = await ChainStore.open(dir);
  for (const e of chain.encoded) {
    const b = chain.blocks[e.height - 1]!.block;
    await s.commitBlock({
      height: e.height,
      hash: new Uint8Array(32).fill(e.height),
      blockBytes: e.block,
      commitBytes: e.commit,
      txs: b.txs.map((t) => ({ hash: txHash(t), code: 'OK' })),
      writes: new Map(),
      accountTxs: [
        { account: toHex(fx.alice.publicKey), index: 0 },
        { account: toHex(fx.bob.publicKey), index: 0 },
      ],
    });
  }
  return s;
}

describe('Pruner', () => {
  it('prunes blocks, commits and indexes below the window in bounded batches and keeps the window', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prune-'));
    const metrics = createNodeMetrics(new Registry());
    try {
      const s = await filledStore(dir);
      const p = new Pruner({ store: s, policy: { blocks: 10 }, logger, metrics, batchBlocks: 8 });
      expect(await p.tick()).toBe(8); // bounded
      expect(s.lowestHeight()).toBe(9);
      while ((await p.tick()) > 0) {
        /* drain */
      }
      expect(s.lowestHeight()).toBe(21); // head 30, window 10: heights 21..30 kept
      expect(await s.getBlockBytes(20)).toBeUndefined();
      expect(await s.getCommitBytes(20)).toBeUndefined();
      expect(await s.getBlockBytes(21)).toBeDefined();
      const tx20 = chain.blocks[19]!.block.txs[0]!;
      const tx21 = chain.blocks[20]!.block.txs[0]!;
      expect(await s.getTx(toHex(txHash(tx20)))).toBeUndefined();
      expect(await s.getTx(toHex(txHash(tx21)))).toBeDefined();
      const acct = toHex(fx.alice.publicKey);
      expect(await s.scan(`a/${acct}/`, `a/${acct}0`)).toHaveLength(10);
      expect((await metrics.storagePrunedBlocks.get()).values[0]!.value).toBe(20);
      expect((await metrics.storageRetainedLowestHeight.get()).values[0]!.value).toBe(21);
      await s.close();
      const again = await ChainStore.open(dir); // the lowest height survives a restart
      expect(again.lowestHeight()).toBe(21);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('by age: keeps a block while any configured window covers it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prune-'));
    try {
      const s = await filledStore(dir);
      const t0 = fx.genesis.genesisTime; // block h has time t0 + 100h
      // age window: blocks older than 1 s at now = t0 + 2500 are prunable (h < 15); count window keeps the last 20 (h > 10)
      const p = new Pruner({ store: s, policy: { seconds: 1, blocks: 20 }, logger, now: () => t0 + 2_500 });
      while ((await p.tick()) > 0) {
        /* drain */
      }
      expect(s.lowestHeight()).toBe(11);
      const ageOnly = new Pruner({ store: s, policy: { seconds: 1 }, logger, now: () => t0 + 2_500 });
      while ((await ageOnly.tick()) > 0) {
        /* drain */
      }
      expect(s.lowestHeight()).toBe(15);
      expect(await s.getBlockBytes(15)).toBeDefined();
      await s.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never prunes without a policy, and never the head', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prune-'));
    try {
      const s = await filledStore(dir);
      expect(await new Pruner({ store: s, policy: {}, logger }).tick()).toBe(0);
      const p = new Pruner({ store: s, policy: { blocks: 1 }, logger, batchBlocks: 1000 });
      await p.tick();
      expect(s.lowestHeight()).toBe(30);
      expect(await s.getBlockBytes(30)).toBeDefined();
      expect(StoreKeys.block(30)).toBe('b/000000000030');
      await s.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
