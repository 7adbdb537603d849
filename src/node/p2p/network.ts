import tls from 'node:tls';
import { isIP, type AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { makeTlsIdentity, peerKeyFromCert, type TlsIdentity } from './tls-identity.js';
import { CHANNEL_NAMES, CONTROL_CHANNEL, Channel, FrameDecoder, encodeFrame, type ChannelName } from './framing.js';
import type { Logger } from '../../lib/logging.js';
import { isConsortiaError } from '../../lib/errors.js';
import { P2PCodes } from './misbehaviour.js';

/**
 * Full-mesh P2P over TLS 1.3. A peer's identity is the Ed25519 key in its certificate; a
 * connection is kept only while `isAllowed(peerKey)` (the chain's node registry) says so.
 * Each configured peer is dialed with exponential backoff; when two connections to one
 * peer exist (simultaneous dial), both ends keep the one dialed by the lower key.
 *
 * Dead peers: a link that silently drops packets leaves a TCP connection "established" until the
 * kernel's next retransmission (after a long cut, up to ~2 minutes). Both ends negotiate (ALPN)
 * the control channel, then ping every `pingIntervalMs`; a connection on which nothing at all
 * arrived for `peerTimeoutMs` is closed (reason `timeout`) and redialed, a dial that does not
 * complete within `dialTimeoutMs` is retried. A peer of an older version (no ALPN) gets neither
 * pings nor the deadline, only TCP keepalive. Outgoing connections leave from the node's own
 * address (`localAddress`: the listen host, else the advertised one when it is local), so that
 * on a shared host (127.0.0.x) a node's packets are its own.
 */
export interface PeerConfig {
  publicKey: string;
  address: string;
}
export interface ByteCounter {
  (direction: 'sent' | 'received', channel: ChannelName | 'control', bytes: number): void;
}
/**
 * Why an established peer connection ended: silent past the deadline, closed or reset by the peer
 * or the OS, an error, by this node (banned, no longer registered), or replaced by a newer
 * connection to the same peer (simultaneous dials, a redial): then onPeerUp follows at once, and
 * whatever was in flight on the old one (a block request) is to be asked again.
 */
export type PeerLostReason = 'timeout' | 'closed' | 'error' | 'banned' | 'removed' | 'replaced';

/** ALPN protocol of peers that speak the control channel (ping/pong). */
export const P2P_ALPN = 'consortia-p2p/2';
export const PING_INTERVAL_MS = 1_000;
/** Nothing received for this long (pings included) closes the connection: ~3 missed pings. */
export const PEER_TIMEOUT_MS = 4_000;
/** A dial (TCP + TLS handshake) that takes longer is abandoned and retried after the backoff. */
export const DIAL_TIMEOUT_MS = 2_000;
export const DIAL_BACKOFF_BASE_MS = 200;
/** Redial backoff cap: with DIAL_TIMEOUT_MS it bounds how long a healed link stays unused (~3.5 s). */
export const DIAL_BACKOFF_MAX_MS = 1_500;
/** At most one "peer lost" warning per peer per interval (a flapping link is counted, not logged each time). */
const LOST_LOG_INTERVAL_MS = 30_000;
/** TCP keepalive for every connection (the only liveness check with a peer of an older version). */
const KEEPALIVE_DELAY_MS = 5_000;
const PING = 1;
const PONG = 2;

export interface NetworkOptions {
  /** The node key's seed; the TLS certificate's key is the node key. */
  nodeSeed?: Uint8Array;
  /** Instead of nodeSeed: a ready identity (a bound one when the node key stays in a token, see tls-identity.ts). */
  identity?: TlsIdentity;
  listenHost: string;
  listenPort: number;
  peers: PeerConfig[];
  isAllowed: (peerKeyHex: string) => boolean;
  onMessage: (peer: string, channel: ChannelName, payload: Buffer) => void;
  onPeerUp?: (peer: string) => void;
  onPeerDown?: (peer: string, reason: PeerLostReason) => void;
  countBytes?: ByteCounter;
  /** A message the handler refused (malformed or invalid): counted, and logged at most every 10 s per peer. */
  countRejected?: (channel: ChannelName) => void;
  logger?: Logger;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Address peers dial (p2pAdvertise host): the source address of outgoing connections when the listen host is unspecified (0.0.0.0) and it is an address of this host. */
  advertiseHost?: string;
  pingIntervalMs?: number;
  peerTimeoutMs?: number;
  dialTimeoutMs?: number;
  /** More than `maxStrikes` proven offences (bad signatures) within `strikeWindowMs` ban a peer for `banMs`. */
  misbehaviour?: { maxStrikes: number; strikeWindowMs: number; banMs: number };
}

const MISBEHAVIOUR = { maxStrikes: 10, strikeWindowMs: 10_000, banMs: 60_000 };

const REJECT_LOG_INTERVAL_MS = 10_000;

interface Conn {
  socket: tls.TLSSocket;
  peer: string;
  dialedByMe: boolean;
  address: string;
  /** Both ends speak the control channel: pinged, and closed when silent past the deadline. */
  live: boolean;
  lastRx: number;
  since: number;
  /** Set by this node before it destroys the socket on purpose. */
  reason: PeerLostReason | null;
  errored: boolean;
}

/** The address outgoing connections bind to: a specific listen IP, else an advertised IP of this host, else none. */
export function bindAddressFor(listenHost: string, advertiseHost?: string): string | undefined {
  const specific = (h: string | undefined): h is string =>
    h !== undefined && isIP(h) !== 0 && !/^(0\.0\.0\.0|::|::0|0:0:0:0:0:0:0:0)$/.test(h);
  if (specific(listenHost)) return listenHost;
  if (specific(advertiseHost) && isLocalAddress(advertiseHost)) return advertiseHost;
  return undefined;
}

function isLocalAddress(ip: string): boolean {
  if (isIP(ip) === 4 && ip.startsWith('127.')) return true; // all of 127/8 is this host's
  if (ip === '::1') return true;
  return Object.values(networkInterfaces()).some((list) => (list ?? []).some((a) => a.address === ip));
}

export class P2PNetwork {
  readonly publicKeyHex: string;
  private readonly identity;
  private server: tls.Server | null = null;
  private readonly conns = new Map<string, Conn>();
  private readonly dialTimers = new Map<string, NodeJS.Timeout>();
  private readonly attempts = new Map<string, number>();
  private readonly dialing = new Set<string>();
  private peers: PeerConfig[];
  private closed = false;
  private localAddress: string | undefined;
  private pingTimer: NodeJS.Timeout | null = null;
  private lastTick = 0;
  private readonly pingMs: number;
  private readonly timeoutMs: number;
  /** When each peer's connection was lost (for the "reconnected" log), and the rate limit of "lost" warnings. */
  private readonly lostAt = new Map<string, number>();
  private readonly lostLog = new Map<string, { at: number; suppressed: number }>();
  readonly bytes: Record<'sent' | 'received', Record<ChannelName | 'control', number>> = {
    sent: { consensus: 0, mempool: 0, sync: 0, control: 0 },
    received: { consensus: 0, mempool: 0, sync: 0, control: 0 },
  };

  constructor(private readonly opts: NetworkOptions) {
    if (opts.identity === undefined && opts.nodeSeed === undefined)
      throw new Error('P2PNetwork needs nodeSeed or identity');
    this.identity = opts.identity ?? makeTlsIdentity(opts.nodeSeed!);
    this.publicKeyHex = Buffer.from(this.identity.publicKey).toString('hex');
    this.peers = opts.peers.filter((p) => p.publicKey.toLowerCase() !== this.publicKeyHex);
    this.localAddress = bindAddressFor(opts.listenHost, opts.advertiseHost);
    this.pingMs = opts.pingIntervalMs ?? PING_INTERVAL_MS;
    this.timeoutMs = Math.max(2 * this.pingMs, opts.peerTimeoutMs ?? PEER_TIMEOUT_MS);
  }

  /** Source address of outgoing connections (undefined: chosen by the OS). */
  get boundAddress(): string | undefined {
    return this.localAddress;
  }

  private tlsOptions(): tls.TlsOptions {
    return {
      cert: this.identity.certPem,
      key: this.identity.keyPem,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      requestCert: true,
      rejectUnauthorized: false, // self-signed by design; identity checked against the registry below
      ALPNProtocols: [P2P_ALPN],
    };
  }

  async start(): Promise<{ host: string; port: number }> {
    this.server = tls.createServer(this.tlsOptions(), (socket) => this.onSecure(socket, false, null));
    this.server.on('tlsClientError', () => {
      /* bad handshakes are dropped silently */
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.opts.listenPort, this.opts.listenHost, () => resolve());
    });
    for (const p of this.peers) this.scheduleDial(p, 0);
    this.lastTick = Date.now();
    this.pingTimer = setInterval(() => this.tick(), this.pingMs);
    this.pingTimer.unref();
    const a = this.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  address(): { host: string; port: number } | null {
    const a = this.server?.address() as AddressInfo | null | undefined;
    return a ? { host: a.address, port: a.port } : null;
  }

  connectedPeers(): { publicKey: string; address: string }[] {
    return [...this.conns.values()].map((c) => ({ publicKey: c.peer, address: c.address }));
  }

  isConnected(peer: string): boolean {
    return this.conns.has(peer);
  }

  send(peer: string, channel: ChannelName, payload: Uint8Array): boolean {
    const c = this.conns.get(peer);
    if (!c) return false;
    this.write(c, channel, payload);
    return true;
  }

  broadcast(channel: ChannelName, payload: Uint8Array, except?: string): void {
    if (this.conns.size === 0) return;
    const frame = encodeFrame(Channel[channel], payload);
    for (const c of this.conns.values()) {
      if (c.peer === except) continue;
      c.socket.write(frame);
      this.count('sent', channel, frame.length);
    }
  }

  /** Re-applies the registry (e.g. after a member was removed on chain): cuts off peers no longer allowed. */
  refreshAllowed(): void {
    for (const c of [...this.conns.values()]) {
      if (!this.opts.isAllowed(c.peer)) {
        this.opts.logger?.warn('peer no longer in node registry; disconnecting', { peer: c.peer });
        c.reason = 'removed';
        c.socket.destroy();
      }
    }
  }

  setPeers(peers: PeerConfig[]): void {
    this.peers = peers.filter((p) => p.publicKey.toLowerCase() !== this.publicKeyHex);
    for (const p of this.peers)
      if (!this.conns.has(p.publicKey) && !this.dialTimers.has(p.publicKey)) this.scheduleDial(p, 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    for (const t of this.dialTimers.values()) clearTimeout(t);
    this.dialTimers.clear();
    for (const c of this.conns.values()) c.socket.destroy();
    this.conns.clear();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
  }

  // A faulty or hostile peer can send thousands of bad messages a second: count each, log a few.
  private readonly rejectLog = new Map<string, { at: number; suppressed: number }>();
  private rejected(peer: string, channel: ChannelName, err: Error): void {
    this.opts.countRejected?.(channel);
    if (isConsortiaError(err) && err.code === P2PCodes.BAD_SIGNATURE) this.penalize(peer, `${channel}: ${err.message}`);
    const now = Date.now();
    const r = this.rejectLog.get(peer);
    if (r !== undefined && now - r.at < REJECT_LOG_INTERVAL_MS) {
      r.suppressed++;
      return;
    }
    this.opts.logger?.warn('p2p message rejected', {
      peer,
      channel,
      err: err.message,
      ...(r?.suppressed ? { suppressedSinceLast: r.suppressed } : {}),
    });
    this.rejectLog.set(peer, { at: now, suppressed: 0 });
  }

  // Each bad signature cost a verify: a peer sending them is disconnected and refused for a while.
  private readonly strikes = new Map<string, { n: number; since: number }>();
  private readonly bannedUntil = new Map<string, number>();
  /** Counts a proven offence of `peer` (a bad signature); past the limit it is banned. */
  penalize(peer: string, why: string): void {
    const m = this.opts.misbehaviour ?? MISBEHAVIOUR;
    const now = Date.now();
    let s = this.strikes.get(peer);
    if (s === undefined || now - s.since > m.strikeWindowMs) this.strikes.set(peer, (s = { n: 0, since: now }));
    if (++s.n <= m.maxStrikes) return;
    this.strikes.delete(peer);
    this.bannedUntil.set(peer, now + m.banMs);
    this.opts.logger?.warn('p2p peer banned for bad signatures', { peer, why, forMs: m.banMs });
    const c = this.conns.get(peer);
    if (c) {
      c.reason = 'banned';
      c.socket.destroy();
    }
  }
  isBanned(peer: string): boolean {
    const until = this.bannedUntil.get(peer);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.bannedUntil.delete(peer);
    return false;
  }

  private count(dir: 'sent' | 'received', channel: ChannelName | 'control', n: number): void {
    this.bytes[dir][channel] += n;
    this.opts.countBytes?.(dir, channel, n);
  }

  private write(c: Conn, channel: ChannelName, payload: Uint8Array): void {
    const frame = encodeFrame(Channel[channel], payload);
    c.socket.write(frame);
    this.count('sent', channel, frame.length);
  }

  /**
   * Every ping interval: closes live connections silent past the deadline, pings the others. When
   * this node's own event loop was held up (the tick came late), the silence may be ours: the
   * deadlines restart instead (their data waits in the socket buffers, read right after).
   */
  private tick(): void {
    const now = Date.now();
    const late = now - this.lastTick > 2 * this.pingMs;
    this.lastTick = now;
    for (const c of [...this.conns.values()]) {
      if (!c.live) continue;
      if (late) {
        c.lastRx = now;
        continue;
      }
      if (now - c.lastRx > this.timeoutMs) {
        c.reason = 'timeout';
        c.socket.destroy();
        continue;
      }
      const ping = Buffer.allocUnsafe(9);
      ping[0] = PING;
      ping.writeDoubleBE(now, 1);
      this.writeControl(c, ping);
    }
  }

  private writeControl(c: Conn, payload: Buffer): void {
    const frame = encodeFrame(CONTROL_CHANNEL, payload);
    c.socket.write(frame);
    this.count('sent', 'control', frame.length);
  }

  /** A control frame: a ping is answered with a pong carrying its payload; anything else is ignored (a newer version's). */
  private onControl(c: Conn, payload: Buffer): void {
    this.count('received', 'control', payload.length + 5);
    if (payload[0] === PING && payload.length <= 64) {
      const pong = Buffer.from(payload);
      pong[0] = PONG;
      this.writeControl(c, pong);
    }
  }

  private peerLost(c: Conn, reason: PeerLostReason): void {
    const now = Date.now();
    this.lostAt.set(c.peer, now);
    const r = this.lostLog.get(c.peer);
    if (r !== undefined && now - r.at < LOST_LOG_INTERVAL_MS) {
      r.suppressed++;
      return;
    }
    this.opts.logger?.warn('p2p peer lost', {
      peer: c.peer,
      address: c.address,
      reason,
      connectedMs: now - c.since,
      ...(c.live ? { silentMs: now - c.lastRx } : {}),
      ...(r?.suppressed ? { lostSinceLastLog: r.suppressed } : {}),
    });
    this.lostLog.set(c.peer, { at: now, suppressed: 0 });
  }

  private scheduleDial(p: PeerConfig, delayMs: number): void {
    if (this.closed || this.dialTimers.has(p.publicKey)) return;
    const t = setTimeout(() => {
      this.dialTimers.delete(p.publicKey);
      this.dial(p);
    }, delayMs);
    t.unref();
    this.dialTimers.set(p.publicKey, t);
  }

  private backoff(peer: string): number {
    const n = this.attempts.get(peer) ?? 0;
    this.attempts.set(peer, n + 1);
    const base = this.opts.backoffBaseMs ?? DIAL_BACKOFF_BASE_MS;
    const max = this.opts.backoffMaxMs ?? DIAL_BACKOFF_MAX_MS;
    const d = Math.min(max, base * 2 ** n);
    return d / 2 + Math.random() * (d / 2); // jitter avoids lock-step redials
  }

  private dial(p: PeerConfig): void {
    if (this.closed || this.conns.has(p.publicKey) || this.dialing.has(p.publicKey)) return;
    const idx = p.address.lastIndexOf(':');
    let host = p.address.slice(0, idx);
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    const port = Number(p.address.slice(idx + 1));
    this.dialing.add(p.publicKey);
    // Leave from our own address; a peer named by an IP of the other family is dialed unbound.
    const local = this.localAddress;
    const bind =
      local !== undefined && (isIP(host) === 0 || isIP(host) === isIP(local))
        ? { localAddress: local, ...(isIP(host) === 0 ? { family: isIP(local) } : {}) }
        : {};
    const socket = tls.connect({
      cert: this.identity.certPem,
      key: this.identity.keyPem,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      rejectUnauthorized: false,
      host,
      port,
      checkServerIdentity: () => undefined,
      ALPNProtocols: [P2P_ALPN],
      ...bind,
    });
    const fail = (err?: Error): void => {
      if (!this.dialing.delete(p.publicKey)) return;
      socket.destroy();
      const code = (err as NodeJS.ErrnoException | undefined)?.code;
      if (local !== undefined && this.localAddress === local && (code === 'EADDRNOTAVAIL' || code === 'EINVAL')) {
        this.opts.logger?.warn('cannot bind outgoing p2p connections to the node address; the OS chooses it', {
          localAddress: local,
          err: err?.message,
        });
        this.localAddress = undefined;
      }
      this.scheduleDial(p, this.backoff(p.publicKey));
    };
    socket.setTimeout(this.opts.dialTimeoutMs ?? DIAL_TIMEOUT_MS, () => fail());
    socket.once('error', fail);
    socket.once('close', () => fail());
    socket.once('secureConnect', () => {
      this.dialing.delete(p.publicKey);
      socket.setTimeout(0);
      socket.removeListener('error', fail);
      socket.removeListener('close', fail);
      this.onSecure(socket, true, p);
    });
  }

  private onSecure(socket: tls.TLSSocket, dialedByMe: boolean, expected: PeerConfig | null): void {
    socket.on('error', () => socket.destroy());
    const key = peerKeyFromCert(socket.getPeerX509Certificate());
    const peer = key ? Buffer.from(key).toString('hex') : '';
    const redial = (): void => {
      if (expected && !this.conns.has(expected.publicKey))
        this.scheduleDial(expected, this.backoff(expected.publicKey));
    };
    const banned = this.isBanned(peer); // logged once, when banned: not at each of its redials
    if (
      !key ||
      peer === this.publicKeyHex ||
      (expected && peer !== expected.publicKey.toLowerCase()) ||
      !this.opts.isAllowed(peer) ||
      banned
    ) {
      if (!banned) this.opts.logger?.warn('rejecting p2p connection', { peer, dialedByMe });
      socket.destroy();
      redial();
      return;
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_DELAY_MS);
    const now = Date.now();
    const conn: Conn = {
      socket,
      peer,
      dialedByMe,
      address: `${socket.remoteAddress}:${socket.remotePort}`,
      live: socket.alpnProtocol === P2P_ALPN,
      lastRx: now,
      since: now,
      reason: null,
      errored: false,
    };
    if (expected) conn.address = expected.address;
    socket.on('error', () => {
      conn.errored = true;
    });
    const existing = this.conns.get(peer);
    if (existing) {
      // Deterministic tie-break: keep the connection dialed by the lower key. Both dialed by the
      // same side: the newer one, as a node dials only when it has lost its connection (ours is
      // dead, we just did not notice yet).
      const dialerOf = (c: Conn): string => (c.dialedByMe ? this.publicKeyHex : c.peer);
      const keepNew = dialerOf(conn) <= dialerOf(existing);
      if (!keepNew) {
        socket.destroy();
        return;
      }
      this.conns.delete(peer);
      existing.reason = 'replaced';
      existing.socket.destroy();
    }
    this.conns.set(peer, conn);
    this.attempts.set(peer, 0);
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      conn.lastRx = Date.now();
      let frames: ReturnType<FrameDecoder['push']>;
      try {
        frames = decoder.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const f of frames) {
        if (f.channel === CONTROL_CHANNEL && conn.live) {
          this.onControl(conn, f.payload);
          continue;
        }
        const ch = CHANNEL_NAMES[f.channel];
        if (!ch) {
          socket.destroy();
          return;
        }
        this.count('received', ch, f.payload.length + 5);
        try {
          this.opts.onMessage(peer, ch, f.payload);
        } catch (err) {
          this.rejected(peer, ch, err as Error);
        }
      }
    });
    socket.once('close', () => {
      if (this.conns.get(peer) === conn) {
        this.conns.delete(peer);
        const reason: PeerLostReason = conn.reason ?? (conn.errored ? 'error' : 'closed');
        if (!this.closed) this.peerLost(conn, reason);
        this.opts.onPeerDown?.(peer, reason);
        const cfg = this.peers.find((p) => p.publicKey.toLowerCase() === peer);
        if (cfg && !this.closed) this.scheduleDial(cfg, reason === 'timeout' ? 0 : this.backoff(peer));
      }
    });
    if (existing) this.opts.onPeerDown?.(peer, 'replaced');
    const downSince = this.lostAt.get(peer);
    if (downSince !== undefined) {
      this.lostAt.delete(peer);
      this.opts.logger?.info('p2p peer reconnected', { peer, downMs: now - downSince });
    }
    this.opts.onPeerUp?.(peer);
  }
}
