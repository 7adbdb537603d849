// Dead-peer detection (ping + read deadline), redial, the source address of outgoing
// connections, and compatibility with a peer of an older version (no ALPN, no control channel).
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import {
  P2PNetwork,
  P2P_ALPN,
  bindAddressFor,
  makeTlsIdentity,
  type NetworkOptions,
  type PeerLostReason,
} from '../../../src/node/p2p/index.js';
import { createLogger } from '../../../src/lib/logging.js';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function waitFor(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timeout: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const keyOf = (seed: Buffer): string => Buffer.from(makeTlsIdentity(seed).publicKey).toString('hex');

function net2p(seed: Buffer, allowed: Set<string>, o: Partial<NetworkOptions> = {}): P2PNetwork {
  const n = new P2PNetwork({
    nodeSeed: seed,
    listenHost: '127.0.0.1',
    listenPort: 0,
    peers: [],
    isAllowed: (k) => allowed.has(k),
    onMessage: () => undefined,
    backoffBaseMs: 20,
    backoffMaxMs: 100,
    ...o,
  });
  closers.push(() => n.close());
  return n;
}

/**
 * A TCP relay that can be "cut": a cut connection forwards nothing more, ever, and passes no close
 * on (no FIN, no RST: a link that silently drops packets); while cut, new connections are held
 * without an answer. Heal: new connections are relayed again; the cut ones are dropped (as both
 * ends gave up on them) unless `keepOld`, which models an end that never hears of the loss.
 */
class CuttableLink {
  private server = net.createServer((c) => this.accept(c));
  private cut = false;
  private pairs: { socks: net.Socket[]; dead: boolean }[] = [];
  private held: net.Socket[] = [];
  port = 0;
  constructor(private readonly target: number) {}
  async start(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
    closers.push(() => this.close());
    return this.port;
  }
  private accept(c: net.Socket): void {
    c.on('error', () => undefined);
    if (this.cut) {
      this.held.push(c);
      return;
    }
    const up = net.connect(this.target, '127.0.0.1');
    up.on('error', () => undefined);
    const pair = { socks: [c, up], dead: false };
    this.pairs.push(pair);
    c.on('data', (d) => {
      if (!pair.dead) up.write(d);
    });
    up.on('data', (d) => {
      if (!pair.dead) c.write(d);
    });
    c.on('close', () => {
      if (!pair.dead) up.destroy();
    });
    up.on('close', () => {
      if (!pair.dead) c.destroy();
    });
  }
  setCut(cut: boolean, keepOld = false): void {
    this.cut = cut;
    if (cut) {
      for (const p of this.pairs) p.dead = true;
      return;
    }
    for (const s of this.held) s.destroy();
    this.held = [];
    if (!keepOld) {
      for (const p of this.pairs.filter((x) => x.dead)) for (const s of p.socks) s.destroy();
      this.pairs = this.pairs.filter((x) => !x.dead);
    }
  }
  async close(): Promise<void> {
    for (const s of [...this.held, ...this.pairs.flatMap((p) => p.socks)]) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

describe('outgoing connections leave from the node address', () => {
  it('binds to a specific listen host, else to a local advertised IP, else lets the OS choose', () => {
    expect(bindAddressFor('127.0.0.7')).toBe('127.0.0.7');
    expect(bindAddressFor('127.0.0.7', '10.1.2.3')).toBe('127.0.0.7');
    expect(bindAddressFor('0.0.0.0', '127.0.0.9')).toBe('127.0.0.9');
    expect(bindAddressFor('::', '::1')).toBe('::1');
    expect(bindAddressFor('0.0.0.0', '203.0.113.5')).toBeUndefined(); // not an address of this host (e.g. a load balancer)
    expect(bindAddressFor('0.0.0.0', 'node-1.p2p.example.com')).toBeUndefined();
    expect(bindAddressFor('0.0.0.0')).toBeUndefined();
    expect(bindAddressFor('localhost')).toBeUndefined();
  });

  it("a peer sees the dialer's own 127.0.0.x as the source address", async () => {
    const sa = randomBytes(32),
      sb = randomBytes(32);
    const allowed = new Set([keyOf(sa), keyOf(sb)]);
    const a = net2p(sa, allowed, { listenHost: '127.0.0.5' });
    const b = net2p(sb, allowed, { listenHost: '127.0.0.6' });
    await a.start();
    const pb = await b.start();
    expect(a.boundAddress).toBe('127.0.0.5');
    a.setPeers([{ publicKey: keyOf(sb), address: `127.0.0.6:${pb.port}` }]);
    await waitFor(() => b.isConnected(keyOf(sa)));
    expect(b.connectedPeers()[0]!.address).toMatch(/^127\.0\.0\.5:\d+$/);
  });
});

describe('dead-peer detection', () => {
  it('closes a silently cut connection on both ends within the deadline, logs and counts it once, and reconnects after the heal', async () => {
    const sa = randomBytes(32),
      sb = randomBytes(32);
    const ka = keyOf(sa),
      kb = keyOf(sb);
    const allowed = new Set([ka, kb]);
    const lost: { side: string; reason: PeerLostReason }[] = [];
    const warnings: Record<string, unknown>[] = [];
    const got: string[] = [];
    const live = { pingIntervalMs: 100, peerTimeoutMs: 400 };
    const a = net2p(sa, allowed, {
      ...live,
      onPeerDown: (_p, reason) => lost.push({ side: 'a', reason }),
      logger: createLogger('info', {}, (line) => {
        warnings.push(JSON.parse(line) as Record<string, unknown>);
      }),
    });
    const b = net2p(sb, allowed, {
      ...live,
      onPeerDown: (_p, reason) => lost.push({ side: 'b', reason }),
      onMessage: (_p, ch, m) => got.push(`${ch}:${m.toString()}`),
    });
    await a.start();
    const pb = await b.start();
    const link = new CuttableLink(pb.port);
    a.setPeers([{ publicKey: kb, address: `127.0.0.1:${await link.start()}` }]);
    await waitFor(() => a.isConnected(kb) && b.isConnected(ka));
    // pings keep an idle, healthy connection open well past the deadline
    await new Promise((r) => setTimeout(r, 1_000));
    expect(lost).toEqual([]);
    expect(a.bytes.received.control).toBeGreaterThan(0);
    const cutAt = Date.now();
    link.setCut(true);
    await waitFor(() => !a.isConnected(kb) && !b.isConnected(ka), 3_000, 'both ends drop the cut connection');
    const detectMs = Date.now() - cutAt;
    // The deadline runs from the last byte received, which may precede the cut by up to one ping interval.
    expect(detectMs).toBeGreaterThanOrEqual(live.peerTimeoutMs - live.pingIntervalMs);
    expect(detectMs).toBeLessThan(1_500);
    expect(lost).toEqual(
      expect.arrayContaining([
        { side: 'a', reason: 'timeout' },
        { side: 'b', reason: 'timeout' },
      ]),
    );
    // a keeps redialing while cut (held, never answered), logging the loss once
    await new Promise((r) => setTimeout(r, 800));
    expect(warnings.filter((w) => w.msg === 'p2p peer lost')).toHaveLength(1);
    expect(warnings.find((w) => w.msg === 'p2p peer lost')).toMatchObject({ peer: kb, reason: 'timeout' });
    link.setCut(false);
    const healAt = Date.now();
    await waitFor(() => a.isConnected(kb) && b.isConnected(ka), 3_000, 'reconnected after the heal');
    expect(Date.now() - healAt).toBeLessThan(1_500);
    a.send(kb, 'consensus', Buffer.from('after'));
    await waitFor(() => got.includes('consensus:after'));
    expect(warnings.some((w) => w.msg === 'p2p peer reconnected')).toBe(true);
  });

  it('takes a redial from a peer that lost the connection although this end did not notice yet', async () => {
    const sa = randomBytes(32),
      sb = randomBytes(32);
    const ka = keyOf(sa),
      kb = keyOf(sb);
    const allowed = new Set([ka, kb]);
    const got: string[] = [];
    const a = net2p(sa, allowed, { pingIntervalMs: 100, peerTimeoutMs: 300 });
    // b would notice only after 30 s
    const b = net2p(sb, allowed, {
      pingIntervalMs: 100,
      peerTimeoutMs: 30_000,
      onMessage: (_p, ch, m) => got.push(`${ch}:${m.toString()}`),
    });
    await a.start();
    const pb = await b.start();
    const link = new CuttableLink(pb.port);
    a.setPeers([{ publicKey: kb, address: `127.0.0.1:${await link.start()}` }]);
    await waitFor(() => a.isConnected(kb) && b.isConnected(ka));
    link.setCut(true);
    await waitFor(() => !a.isConnected(kb), 2_000, 'a drops it');
    expect(b.isConnected(ka)).toBe(true); // b still holds its (dead) connection
    // b never hears of the loss: its old connection stays open until a's new one replaces it
    link.setCut(false, true);
    await waitFor(() => a.isConnected(kb), 3_000, 'a reconnected');
    a.send(kb, 'consensus', Buffer.from('new'));
    await waitFor(() => got.includes('consensus:new'), 3_000, 'b takes the new connection');
    expect(b.connectedPeers()).toHaveLength(1);
  });

  it('a peer of an older version (no ALPN) gets no control frames and no deadline', async () => {
    const sa = randomBytes(32),
      so = randomBytes(32);
    const ka = keyOf(sa),
      ko = keyOf(so);
    const id = makeTlsIdentity(so);
    const received: Buffer[] = [];
    const old = tls.createServer(
      { cert: id.certPem, key: id.keyPem, minVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: false },
      (s) => {
        expect(s.alpnProtocol).toBe(false);
        s.on('data', (d: Buffer) => received.push(d));
        s.on('error', () => undefined);
        closers.push(() => {
          s.destroy();
        });
      },
    );
    await new Promise<void>((r) => old.listen(0, '127.0.0.1', () => r()));
    closers.push(() => new Promise<void>((r) => old.close(() => r())));
    const a = net2p(sa, new Set([ka, ko]), { pingIntervalMs: 100, peerTimeoutMs: 300 });
    await a.start();
    a.setPeers([{ publicKey: ko, address: `127.0.0.1:${(old.address() as net.AddressInfo).port}` }]);
    await waitFor(() => a.isConnected(ko));
    await new Promise((r) => setTimeout(r, 1_000)); // silent far past the deadline
    expect(a.isConnected(ko)).toBe(true);
    expect(received).toEqual([]);
    expect(a.bytes.sent.control).toBe(0);
    expect(P2P_ALPN).toMatch(/^consortia-p2p\//);
  });
});
