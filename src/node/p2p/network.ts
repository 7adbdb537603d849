import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { makeTlsIdentity, peerKeyFromCert } from './tls-identity.js';
import { CHANNEL_NAMES, Channel, FrameDecoder, encodeFrame, type ChannelName } from './framing.js';
import type { Logger } from '../../lib/logging.js';
import { isConsortiaError } from '../../lib/errors.js';
import { P2PCodes } from './misbehaviour.js';

/**
 * Full-mesh P2P over TLS 1.3. A peer's identity is the Ed25519 key in its certificate; a
 * connection is kept only while `isAllowed(peerKey)` (the chain's node registry) says so.
 * Each configured peer is dialed with exponential backoff; when two connections to one
 * peer exist (simultaneous dial), both ends keep the one dialed by the lower key.
 */
export interface PeerConfig { publicKey: string; address: string }
export interface ByteCounter { (direction: 'sent' | 'received', channel: ChannelName, bytes: number): void }

export interface NetworkOptions {
  nodeSeed: Uint8Array;
  listenHost: string;
  listenPort: number;
  peers: PeerConfig[];
  isAllowed: (peerKeyHex: string) => boolean;
  onMessage: (peer: string, channel: ChannelName, payload: Buffer) => void;
  onPeerUp?: (peer: string) => void;
  onPeerDown?: (peer: string) => void;
  countBytes?: ByteCounter;
  /** A message the handler refused (malformed or invalid): counted, and logged at most every 10 s per peer. */
  countRejected?: (channel: ChannelName) => void;
  logger?: Logger;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** More than `maxStrikes` proven offences (bad signatures) within `strikeWindowMs` ban a peer for `banMs`. */
  misbehaviour?: { maxStrikes: number; strikeWindowMs: number; banMs: number };
}

const MISBEHAVIOUR = { maxStrikes: 10, strikeWindowMs: 10_000, banMs: 60_000 };

const REJECT_LOG_INTERVAL_MS = 10_000;

interface Conn { socket: tls.TLSSocket; peer: string; dialedByMe: boolean; address: string }

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
  readonly bytes: Record<'sent' | 'received', Record<ChannelName, number>> = {
    sent: { consensus: 0, mempool: 0, sync: 0 },
    received: { consensus: 0, mempool: 0, sync: 0 },
  };

  constructor(private readonly opts: NetworkOptions) {
    this.identity = makeTlsIdentity(opts.nodeSeed);
    this.publicKeyHex = Buffer.from(this.identity.publicKey).toString('hex');
    this.peers = opts.peers.filter((p) => p.publicKey.toLowerCase() !== this.publicKeyHex);
  }

  private tlsOptions(): tls.TlsOptions {
    return {
      cert: this.identity.certPem,
      key: this.identity.keyPem,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      requestCert: true,
      rejectUnauthorized: false, // self-signed by design; identity checked against the registry below
    };
  }

  async start(): Promise<{ host: string; port: number }> {
    this.server = tls.createServer(this.tlsOptions(), (socket) => this.onSecure(socket, false, null));
    this.server.on('tlsClientError', () => { /* bad handshakes are dropped silently */ });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.opts.listenPort, this.opts.listenHost, () => resolve());
    });
    for (const p of this.peers) this.scheduleDial(p, 0);
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

  isConnected(peer: string): boolean { return this.conns.has(peer); }

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
        c.socket.destroy();
      }
    }
  }

  setPeers(peers: PeerConfig[]): void {
    this.peers = peers.filter((p) => p.publicKey.toLowerCase() !== this.publicKeyHex);
    for (const p of this.peers) if (!this.conns.has(p.publicKey) && !this.dialTimers.has(p.publicKey)) this.scheduleDial(p, 0);
  }

  async close(): Promise<void> {
    this.closed = true;
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
    if (r !== undefined && now - r.at < REJECT_LOG_INTERVAL_MS) { r.suppressed++; return; }
    this.opts.logger?.warn('p2p message rejected', { peer, channel, err: err.message, ...(r?.suppressed ? { suppressedSinceLast: r.suppressed } : {}) });
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
    this.conns.get(peer)?.socket.destroy();
  }
  isBanned(peer: string): boolean {
    const until = this.bannedUntil.get(peer);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.bannedUntil.delete(peer);
    return false;
  }

  private count(dir: 'sent' | 'received', channel: ChannelName, n: number): void {
    this.bytes[dir][channel] += n;
    this.opts.countBytes?.(dir, channel, n);
  }

  private write(c: Conn, channel: ChannelName, payload: Uint8Array): void {
    const frame = encodeFrame(Channel[channel], payload);
    c.socket.write(frame);
    this.count('sent', channel, frame.length);
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
    const base = this.opts.backoffBaseMs ?? 200;
    const max = this.opts.backoffMaxMs ?? 5_000;
    const d = Math.min(max, base * 2 ** n);
    return d / 2 + Math.random() * (d / 2); // jitter avoids lock-step redials
  }

  private dial(p: PeerConfig): void {
    if (this.closed || this.conns.has(p.publicKey) || this.dialing.has(p.publicKey)) return;
    const idx = p.address.lastIndexOf(':');
    const host = p.address.slice(0, idx);
    const port = Number(p.address.slice(idx + 1));
    this.dialing.add(p.publicKey);
    const socket = tls.connect({
      cert: this.identity.certPem, key: this.identity.keyPem, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3',
      rejectUnauthorized: false, host, port, checkServerIdentity: () => undefined,
    });
    const fail = (): void => {
      if (!this.dialing.delete(p.publicKey)) return;
      socket.destroy();
      this.scheduleDial(p, this.backoff(p.publicKey));
    };
    socket.setTimeout(5_000, fail);
    socket.once('error', fail);
    socket.once('close', fail);
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
    const redial = (): void => { if (expected && !this.conns.has(expected.publicKey)) this.scheduleDial(expected, this.backoff(expected.publicKey)); };
    const banned = this.isBanned(peer); // logged once, when banned: not at each of its redials
    if (!key || peer === this.publicKeyHex || (expected && peer !== expected.publicKey.toLowerCase()) || !this.opts.isAllowed(peer) || banned) {
      if (!banned) this.opts.logger?.warn('rejecting p2p connection', { peer, dialedByMe });
      socket.destroy();
      redial();
      return;
    }
    socket.setNoDelay(true);
    const conn: Conn = { socket, peer, dialedByMe, address: `${socket.remoteAddress}:${socket.remotePort}` };
    if (expected) conn.address = expected.address;
    const existing = this.conns.get(peer);
    if (existing) {
      // Deterministic tie-break: keep the connection dialed by the lower key.
      const dialerOf = (c: Conn): string => (c.dialedByMe ? this.publicKeyHex : c.peer);
      const keepNew = dialerOf(conn) < dialerOf(existing);
      if (!keepNew) { socket.destroy(); return; }
      this.conns.delete(peer);
      existing.socket.destroy();
    }
    this.conns.set(peer, conn);
    this.attempts.set(peer, 0);
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      let frames;
      try { frames = decoder.push(chunk); } catch { socket.destroy(); return; }
      for (const f of frames) {
        const ch = CHANNEL_NAMES[f.channel];
        if (!ch) { socket.destroy(); return; }
        this.count('received', ch, f.payload.length + 5);
        try { this.opts.onMessage(peer, ch, f.payload); } catch (err) { this.rejected(peer, ch, err as Error); }
      }
    });
    socket.once('close', () => {
      if (this.conns.get(peer) === conn) {
        this.conns.delete(peer);
        this.opts.onPeerDown?.(peer);
        const cfg = this.peers.find((p) => p.publicKey.toLowerCase() === peer);
        if (cfg && !this.closed) this.scheduleDial(cfg, this.backoff(peer));
      }
    });
    this.opts.onPeerUp?.(peer);
  }
}
