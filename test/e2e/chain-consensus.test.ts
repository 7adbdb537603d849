import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainNet, waitUntil } from '../harness/chain-net.js';

// 4 validators + 1 registered (non-validator) node that joins later with an empty data dir.
const net = new ChainNet({ validators: 4, extraNodes: 1 });

beforeAll(async () => {
  await net.init();
  await net.startAll();
}, 60_000);
afterAll(async () => {
  if (process.env.CHAIN_E2E_LOGS)
    for (const n of net.nodes) console.log(`--- node${n.index}\n` + net.dumpLogs(n.index));
  await net.stop();
});

describe('4-validator chain as real processes', () => {
  it('finalizes blocks and every node has the same hash at every height', async () => {
    const vals = net.nodes.slice(0, 4);
    await net.waitHeight(vals, 4);
    const hashes = await net.agreedHashes(vals, 4);
    expect(new Set(hashes).size).toBe(4);
  });

  it('keeps finalizing after one validator is SIGKILLed', async () => {
    await net.kill(3);
    const alive = net.nodes.slice(0, 3);
    const h0 = Math.max(...(await Promise.all(alive.map((n) => net.height(n)))));
    await net.waitHeight(alive, h0 + 3, 30_000);
    await net.agreedHashes(alive, h0 + 3);
  });

  it('with two validators down no block is finalized and no fork appears', async () => {
    await net.kill(2);
    const alive = net.nodes.slice(0, 2);
    await new Promise((r) => setTimeout(r, 1_000)); // let an in-flight height settle
    const before = await Promise.all(alive.map((n) => net.height(n)));
    await new Promise((r) => setTimeout(r, 4_000));
    const after = await Promise.all(alive.map((n) => net.height(n)));
    expect(after).toEqual(before);
    await net.agreedHashes(alive, Math.min(...after));
  });

  it('restarted validators catch up by block sync and all four agree', async () => {
    net.start(2);
    net.start(3);
    const vals = net.nodes.slice(0, 4);
    await Promise.all([net.waitReady(vals[2]!), net.waitReady(vals[3]!)]);
    const h0 = Math.max(...(await Promise.all(vals.map((n) => net.height(n)))));
    await net.waitHeight(vals, h0 + 3, 60_000);
    await net.agreedHashes(vals, h0 + 3);
  });

  it('a fresh node with an empty data dir syncs to the head', async () => {
    const fresh = net.nodes[4]!;
    net.start(4);
    await net.waitReady(fresh);
    const head = await net.height(net.nodes[0]!);
    await net.waitHeight([fresh], head, 60_000);
    await net.agreedHashes([net.nodes[0]!, fresh], head);
    await waitUntil(async () => (await net.status(fresh))?.syncing === false, 20_000, 'fresh node done syncing');
  });
});
