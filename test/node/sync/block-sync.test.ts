import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BlockSync } from '../../../src/node/sync/index.js';
import { createLogger } from '../../../src/lib/logging.js';
import { decodeMsg, encodeMsg, type WireMsg } from '../../../src/node/engine/messages.js';
import type { ChainTip } from '../../../src/node/engine/chain-tip.js';
import type { ConsensusEngine } from '../../../src/node/engine/engine.js';
import type { ChainStore } from '../../../src/node/store/index.js';

// Block sync against peers that claim blocks they do not deliver. The chain side is a stub at
// height 10 with nothing to serve: these tests are about whom the node believes, not about
// applying blocks (test/e2e/chain-consensus covers catch-up between real processes).
const LIAR = 'aa'.repeat(32);
const HONEST = 'bb'.repeat(32);

function setup() {
  const sent: { peer: string | null; msg: WireMsg }[] = [];
  const warnings: Record<string, unknown>[] = [];
  const logger = createLogger('warn', {}, (line) => {
    warnings.push(JSON.parse(line) as Record<string, unknown>);
  });
  const sync = new BlockSync({
    tip: { height: 10, chainId: 'c', validators: [] } as unknown as ChainTip,
    store: {
      lowestHeight: () => 1,
      getBlockBytes: async () => undefined,
      getCommitBytes: async () => undefined,
    } as unknown as ChainStore,
    engine: { serialize: async () => false, resyncedTo: () => undefined } as unknown as ConsensusEngine,
    out: {
      send: (peer, _ch, p) => {
        sent.push({ peer, msg: decodeMsg(Buffer.from(p)) });
      },
      broadcast: (_ch, p) => {
        sent.push({ peer: null, msg: decodeMsg(Buffer.from(p)) });
      },
    },
    logger,
  });
  const status = (peer: string, height: number): void =>
    sync.onMessage(peer, encodeMsg({ kind: 'status', height, lowest: 1 }));
  const requests = (): { peer: string | null; from: number }[] =>
    sent.flatMap((s) => (s.msg.kind === 'getBlocks' ? [{ peer: s.peer, from: s.msg.from }] : []));
  return { sync, sent, warnings, status, requests };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(1_000_000);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('block sync: peers that claim more than they deliver', () => {
  it('a peer that answers without the block it claimed stops counting, longer each time', () => {
    const { sync, status, requests, warnings } = setup();
    status(LIAR, 1_000_000);
    expect(sync.syncing).toBe(true);
    expect(requests()).toEqual([{ peer: LIAR, from: 11 }]);
    sync.onMessage(LIAR, encodeMsg({ kind: 'blocks', items: [] }));
    expect(sync.syncing).toBe(false);
    expect(warnings[0]).toMatchObject({ peer: LIAR, forMs: 30_000 });
    // its announcements are ignored meanwhile: the node stays ready and asks it nothing
    status(LIAR, 1_000_000);
    expect(sync.syncing).toBe(false);
    expect(requests()).toHaveLength(1);
    // afterwards it is heard again; the same lie costs it twice as long
    vi.setSystemTime(1_000_000 + 30_001);
    status(LIAR, 1_000_000);
    expect(sync.syncing).toBe(true);
    sync.onMessage(LIAR, encodeMsg({ kind: 'blocks', items: [] }));
    expect(sync.syncing).toBe(false);
    expect(warnings[1]).toMatchObject({ peer: LIAR, forMs: 60_000 });
  });

  it('a peer that leaves a request unanswered stops counting until it delivers, and others are asked first', () => {
    const { sync, status, requests, warnings } = setup();
    status(LIAR, 1_000_000);
    status(HONEST, 12);
    expect(requests()).toEqual([{ peer: LIAR, from: 11 }]);
    vi.setSystemTime(1_000_000 + 4_000);
    sync.request();
    expect(requests()).toHaveLength(1); // still waiting for the answer
    vi.setSystemTime(1_000_000 + 5_001);
    sync.request();
    expect(requests()).toEqual([
      { peer: LIAR, from: 11 },
      { peer: HONEST, from: 11 },
    ]);
    expect(sync.bestPeerHeight()).toBe(12);
    // a late answer is still taken: this one has no block, so the claim was a lie
    sync.onMessage(LIAR, encodeMsg({ kind: 'blocks', items: [] }));
    expect(warnings[0]).toMatchObject({ peer: LIAR, forMs: 30_000 });
    expect(() => sync.onMessage(LIAR, encodeMsg({ kind: 'blocks', items: [] }))).toThrow(/not requested/);
  });

  it('a silent peer alone claiming more keeps the node syncing only until its request times out', () => {
    const { sync, status, requests } = setup();
    status(LIAR, 1_000_000);
    expect(sync.syncing).toBe(true);
    vi.setSystemTime(1_000_000 + 5_001);
    sync.request();
    expect(sync.syncing).toBe(false);
    status(LIAR, 1_000_000);
    expect(sync.syncing).toBe(false);
    // with nobody else to ask it is still asked (its answer would prove it)
    expect(requests()).toEqual([
      { peer: LIAR, from: 11 },
      { peer: LIAR, from: 11 },
    ]);
  });

  it('refuses blocks nobody asked for, and answers one getBlocks per peer at a time', async () => {
    const { sync, sent } = setup();
    expect(() =>
      sync.onMessage(
        HONEST,
        encodeMsg({ kind: 'blocks', items: [{ block: new Uint8Array(5), commit: new Uint8Array(5) }] }),
      ),
    ).toThrow(/not requested/);
    sync.onMessage(HONEST, encodeMsg({ kind: 'getBlocks', from: 1, count: 10 }));
    sync.onMessage(HONEST, encodeMsg({ kind: 'getBlocks', from: 1, count: 10 }));
    sync.onMessage(LIAR, encodeMsg({ kind: 'getBlocks', from: 1, count: 10 }));
    await vi.waitFor(() => expect(sent.filter((s) => s.msg.kind === 'blocks')).toHaveLength(2));
    expect(
      sent
        .filter((s) => s.msg.kind === 'blocks')
        .map((s) => s.peer)
        .sort(),
    ).toEqual([LIAR, HONEST]);
    // once answered, the peer may ask again
    sync.onMessage(HONEST, encodeMsg({ kind: 'getBlocks', from: 1, count: 10 }));
    await vi.waitFor(() => expect(sent.filter((s) => s.msg.kind === 'blocks')).toHaveLength(3));
  });
});
