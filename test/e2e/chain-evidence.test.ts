import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/chain/index.js';
import { ChainNet, waitUntil } from './support/chain-net.js';
import { Equivocator } from './support/equivocator.js';

// Validator 3 is in genesis but driven by the equivocating harness instead of a node process.
const net = new ChainNet({ validators: 4, external: [3] });
let eq: Equivocator;

beforeAll(async () => {
  await net.init();
  await net.startAll();
  const bad = net.nodes[3]!;
  eq = new Equivocator(net.chainId, bad.key, net.nodes.slice(0, 3).map((n) => ({ publicKey: toHex(n.key.publicKey), address: `${n.host}:${n.p2pPort}` })), bad.host);
  await eq.start();
}, 60_000);
afterAll(async () => { await eq?.close(); await net.stop(); });

describe('equivocation', () => {
  it('two conflicting signed prevotes become evidence recorded on chain', async () => {
    const honest = net.nodes.slice(0, 3);
    await net.waitHeight(honest, 2);
    await waitUntil(() => eq.net.connectedPeers().length === 3, 10_000, 'harness connected');
    const h = await net.height(honest[0]!);
    for (const height of [h + 1, h + 2]) eq.equivocate(height, 0);
    let found: { height: number; evidence: unknown[] } | null = null;
    await waitUntil(async () => {
      const top = await net.height(honest[0]!);
      for (let i = h + 1; i <= top && !found; i++) {
        const b = await net.block(honest[0]!, i);
        const ev = (b?.evidence ?? []) as unknown[];
        if (ev.length > 0) found = { height: i, evidence: ev };
      }
      return found !== null;
    }, 30_000, 'evidence in a block');
    expect(JSON.stringify(found!.evidence)).toContain(eq.publicKeyHex);
    // every honest node has the same block with the evidence
    await net.waitHeight(honest, found!.height);
    await net.agreedHashes(honest, found!.height);
  });
});
