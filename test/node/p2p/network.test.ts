import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import {
  P2PNetwork,
  FrameDecoder,
  badSignature,
  encodeFrame,
  makeTlsIdentity,
  type NetworkOptions,
} from '../../../src/node/p2p/index.js';
import { createLogger } from '../../../src/lib/logging.js';

const nets: P2PNetwork[] = [];
afterEach(async () => {
  await Promise.all(nets.splice(0).map((n) => n.close()));
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timeout');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function node(seed: Buffer, allowed: Set<string>, got: string[]): P2PNetwork {
  const n = new P2PNetwork({
    nodeSeed: seed,
    listenHost: '127.0.0.1',
    listenPort: 0,
    peers: [],
    isAllowed: (k) => allowed.has(k),
    onMessage: (peer, ch, p) => got.push(`${peer.slice(0, 8)}:${ch}:${p.toString()}`),
    backoffBaseMs: 20,
    backoffMaxMs: 100,
  });
  nets.push(n);
  return n;
}

/** Network b (options `opts`) and a plain node a, connected; both keys registered. */
async function connectedPair(opts: Pick<NetworkOptions, 'onMessage'> & Partial<NetworkOptions>) {
  const sa = randomBytes(32),
    sb = randomBytes(32);
  const ka = Buffer.from(makeTlsIdentity(sa).publicKey).toString('hex');
  const kb = Buffer.from(makeTlsIdentity(sb).publicKey).toString('hex');
  const allowed = new Set([ka, kb]);
  const b = new P2PNetwork({
    nodeSeed: sb,
    listenHost: '127.0.0.1',
    listenPort: 0,
    peers: [],
    isAllowed: (k) => allowed.has(k),
    ...opts,
  });
  nets.push(b);
  const a = node(sa, allowed, []);
  const pb = await b.start();
  await a.start();
  a.setPeers([{ publicKey: kb, address: `127.0.0.1:${pb.port}` }]);
  await waitFor(() => a.isConnected(kb) && b.isConnected(ka));
  return { a, b, ka, kb };
}

describe('framing', () => {
  it('reassembles frames split across arbitrary chunks and rejects bad lengths', () => {
    const f = Buffer.concat([encodeFrame(1, Buffer.from('hello')), encodeFrame(3, Buffer.from('world!'))]);
    for (let cut = 0; cut <= f.length; cut++) {
      const d = new FrameDecoder();
      const out = [...d.push(f.subarray(0, cut)), ...d.push(f.subarray(cut))];
      expect(out.map((x) => `${x.channel}${x.payload.toString()}`)).toEqual(['1hello', '3world!']);
    }
    expect(() => new FrameDecoder(10).push(Buffer.from([0, 0, 1, 0, 1]))).toThrow();
  });

  it('reassembles a large frame fed in small records, followed by more frames', () => {
    const big = Buffer.alloc(300_000, 7);
    const f = Buffer.concat([
      encodeFrame(2, big),
      encodeFrame(1, Buffer.from('vote')),
      encodeFrame(3, Buffer.from('x')),
    ]);
    for (const size of [1, 3, 16_384, 70_000]) {
      const d = new FrameDecoder();
      const out: { channel: number; payload: Buffer }[] = [];
      for (let o = 0; o < f.length; o += size) out.push(...d.push(f.subarray(o, o + size)));
      expect(out.map((x) => [x.channel, x.payload.length])).toEqual([
        [2, big.length],
        [1, 4],
        [3, 1],
      ]);
      expect(out[0]!.payload.equals(big)).toBe(true);
    }
  });
});

describe('P2PNetwork', () => {
  it('authenticates peers by Ed25519 cert key, delivers per channel, counts bytes, dedupes dial races', async () => {
    const sa = randomBytes(32),
      sb = randomBytes(32);
    const ka = Buffer.from(makeTlsIdentity(sa).publicKey).toString('hex');
    const kb = Buffer.from(makeTlsIdentity(sb).publicKey).toString('hex');
    const allowed = new Set([ka, kb]);
    const gotA: string[] = [],
      gotB: string[] = [];
    const a = node(sa, allowed, gotA),
      b = node(sb, allowed, gotB);
    const pa = await a.start(),
      pb = await b.start();
    // both dial each other at once: exactly one connection must survive on both ends
    a.setPeers([{ publicKey: kb, address: `127.0.0.1:${pb.port}` }]);
    b.setPeers([{ publicKey: ka, address: `127.0.0.1:${pa.port}` }]);
    await waitFor(() => a.isConnected(kb) && b.isConnected(ka));
    await new Promise((r) => setTimeout(r, 300));
    expect(a.connectedPeers()).toHaveLength(1);
    expect(b.connectedPeers()).toHaveLength(1);
    a.send(kb, 'consensus', Buffer.from('vote'));
    b.broadcast('mempool', Buffer.from('txs'));
    await waitFor(() => gotA.length === 1 && gotB.length === 1);
    expect(gotB[0]).toBe(`${ka.slice(0, 8)}:consensus:vote`);
    expect(gotA[0]).toBe(`${kb.slice(0, 8)}:mempool:txs`);
    expect(a.bytes.sent.consensus).toBe(9);
    expect(b.bytes.received.consensus).toBe(9);
    // removing b from the registry cuts it off and it is not re-admitted
    allowed.delete(kb);
    a.refreshAllowed();
    await waitFor(() => !a.isConnected(kb) && !b.isConnected(ka));
    await new Promise((r) => setTimeout(r, 300));
    expect(a.isConnected(kb)).toBe(false);
  });

  it('refuses a peer whose key is not registered', async () => {
    const sa = randomBytes(32),
      sc = randomBytes(32);
    const ka = Buffer.from(makeTlsIdentity(sa).publicKey).toString('hex');
    const a = node(sa, new Set([ka]), []);
    const c = node(sc, new Set([ka]), []);
    const pa = await a.start();
    await c.start();
    c.setPeers([{ publicKey: ka, address: `127.0.0.1:${pa.port}` }]);
    await new Promise((r) => setTimeout(r, 500));
    expect(a.connectedPeers()).toHaveLength(0);
  });

  it('counts every message its handler refuses and logs them at most once per interval per peer', async () => {
    const warnings: Record<string, unknown>[] = [];
    const rejected: string[] = [];
    const delivered: string[] = [];
    const { a, ka, kb } = await connectedPair({
      logger: createLogger('warn', {}, (line) => {
        warnings.push(JSON.parse(line) as Record<string, unknown>);
      }),
      onMessage: (_peer, ch, p) => {
        if (p[0] === 0xff) throw new Error('malformed');
        delivered.push(`${ch}:${p.toString()}`);
      },
      countRejected: (ch) => rejected.push(ch),
    });
    for (let i = 0; i < 40; i++) a.send(kb, i % 2 ? 'consensus' : 'sync', Buffer.from([0xff, i]));
    a.send(kb, 'mempool', Buffer.from('ok'));
    await waitFor(() => delivered.length === 1);
    expect(delivered).toEqual(['mempool:ok']); // the connection survives bad messages
    expect(rejected).toHaveLength(40);
    expect(rejected.filter((c) => c === 'consensus')).toHaveLength(20);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ peer: ka, err: 'malformed' });
  });

  it('bans a peer that sends bad signatures past the limit, and takes it back when the ban ends; undecodable messages never ban', async () => {
    const { a, b, ka, kb } = await connectedPair({
      onMessage: (_peer, _ch, p) => {
        if (p[0] === 0xfe) throw badSignature('vote');
        if (p[0] === 0xff) throw new Error('undecodable');
      },
      misbehaviour: { maxStrikes: 3, strikeWindowMs: 10_000, banMs: 1_000 },
    });
    for (let i = 0; i < 50; i++) a.send(kb, 'mempool', Buffer.from([0xff]));
    for (let i = 0; i < 3; i++) a.send(kb, 'consensus', Buffer.from([0xfe]));
    await new Promise((r) => setTimeout(r, 300));
    expect(b.isConnected(ka)).toBe(true); // 3 strikes and any number of undecodable messages: still a peer
    a.send(kb, 'consensus', Buffer.from([0xfe]));
    await waitFor(() => !b.isConnected(ka));
    expect(b.isBanned(ka)).toBe(true);
    // a keeps redialing (20-100 ms backoff) and is refused while banned
    await new Promise((r) => setTimeout(r, 500));
    expect(b.isConnected(ka)).toBe(false);
    await waitFor(() => b.isConnected(ka), 5_000);
    expect(b.isBanned(ka)).toBe(false);
  });
});
