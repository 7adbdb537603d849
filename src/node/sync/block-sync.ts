import {
  blockHash,
  bytesEqual,
  decodeBlock,
  decodeCommit,
  verifyCommit,
  type Block,
  type CommitCertificate,
} from '../../chain/index.js';
import type { Logger } from '../../lib/logging.js';
import type { ChainStore } from '../store/index.js';
import type { ChainTip } from '../engine/chain-tip.js';
import type { ConsensusEngine, Outbox } from '../engine/engine.js';
import { decodeMsg, encodeMsg } from '../engine/messages.js';

/**
 * Block sync on the `sync` channel. Peers announce their height (Status); a node behind
 * asks the highest peer for the next blocks with their commit certificates, checks each
 * certificate against the validator set it has derived itself (verifyCommit) and the hash
 * chain, then validates/executes and persists it exactly like a consensus commit.
 */
export interface BlockSyncOptions {
  tip: ChainTip;
  store: ChainStore;
  engine: ConsensusEngine;
  out: Outbox;
  logger: Logger;
  batch?: number;
  maxResponseBytes?: number;
}

const REQUEST_TIMEOUT_MS = 5_000;
const FIRST_DISTRUST_MS = 30_000;
const MAX_DISTRUST_MS = 60 * 60_000;

export class BlockSync {
  private readonly peerHeights = new Map<string, number>();
  private readonly peerLowest = new Map<string, number>();
  private inflight: { peer: string; from: number; at: number } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private applying = false;
  /** Peers whose getBlocks is being answered: one at a time each (a read of up to 8 MB). */
  private readonly serving = new Set<string>();
  /** Outstanding getBlocks per peer (its `from`): only their answers are taken, late ones too. */
  private readonly asked = new Map<string, number>();
  /**
   * Peers that let a request time out: until one of their answers brings blocks, their heights
   * do not make this node "syncing" and they are asked only when no other peer has the blocks.
   * Else a peer announcing a height it does not serve keeps every node not ready, asking it alone.
   */
  private readonly unanswered = new Set<string>();
  /** Peers caught lying (no block in an answer to what they claimed, an invalid block): heights ignored for a while, doubling per offence. */
  private readonly distrust = new Map<string, { until: number; penaltyMs: number }>();

  constructor(private readonly o: BlockSyncOptions) {}

  /** The engine that replaced the one sync commits through (a validator switching its consensus key, src/node/chain-node.ts). */
  useEngine(engine: ConsensusEngine): void {
    this.o.engine = engine;
  }

  start(): void {
    this.timer = setInterval(() => {
      this.announce();
      this.maybeRequest();
    }, 1_000);
    this.timer.unref();
    this.announce();
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** True while some peer reports a height above ours by more than one block. */
  get syncing(): boolean {
    return this.bestPeerHeight() > this.o.tip.height + 1;
  }

  bestPeerHeight(): number {
    let best = 0;
    for (const [p, h] of this.peerHeights) if (!this.unanswered.has(p)) best = Math.max(best, h);
    return best;
  }

  announce(peer?: string): void {
    const msg = encodeMsg({ kind: 'status', height: this.o.tip.height, lowest: this.o.store.lowestHeight() });
    if (peer) this.o.out.send(peer, 'sync', msg);
    else this.o.out.broadcast('sync', msg);
  }

  onPeerDown(peer: string): void {
    this.peerHeights.delete(peer);
    this.peerLowest.delete(peer);
    this.asked.delete(peer);
    if (this.inflight?.peer === peer) this.inflight = null;
  }

  /** Called when consensus decided a block we lack, or a proposal from the future arrived. */
  request(): void {
    this.maybeRequest(true);
  }

  private maybeRequest(force = false): void {
    if (this.applying) return;
    const now = Date.now();
    if (this.inflight && now - this.inflight.at < REQUEST_TIMEOUT_MS) return;
    if (this.inflight) this.unanswered.add(this.inflight.peer); // its answer is still taken if it comes
    this.inflight = null;
    const want = this.o.tip.height + 1;
    const best = this.pickSource(want, force, false) ?? this.pickSource(want, force, true);
    if (!best) return;
    this.inflight = { peer: best, from: want, at: now };
    this.asked.set(best, want);
    this.o.out.send(best, 'sync', encodeMsg({ kind: 'getBlocks', from: want, count: this.o.batch ?? 64 }));
  }

  /** The highest peer that has block `want` (with `force`, any peer that has it). */
  private pickSource(want: number, force: boolean, includeUnanswered: boolean): string | null {
    let best: string | null = null;
    let bestH = force ? want - 1 : this.o.tip.height;
    for (const [p, h] of this.peerHeights) {
      if (!includeUnanswered && this.unanswered.has(p)) continue;
      if ((this.peerLowest.get(p) ?? 1) > want) continue; // pruned what we need: ask a super or a less-pruned peer
      if (h > bestH || (force && h >= want && best === null)) {
        best = p;
        bestH = h;
      }
    }
    return best !== null && bestH >= want ? best : null;
  }

  onMessage(peer: string, payload: Buffer): void {
    const m = decodeMsg(payload);
    if (m.kind === 'status') {
      if ((this.distrust.get(peer)?.until ?? 0) > Date.now()) return;
      this.peerHeights.set(peer, m.height);
      this.peerLowest.set(peer, m.lowest);
      if (m.height > this.o.tip.height) this.maybeRequest();
    } else if (m.kind === 'getBlocks') {
      if (this.serving.has(peer)) return; // it asks again after its request timeout
      this.serving.add(peer);
      void this.serve(peer, m.from, Math.min(m.count, 256))
        .catch((err) => this.o.logger.warn('sync serve failed', { err: (err as Error).message }))
        .finally(() => this.serving.delete(peer));
    } else if (m.kind === 'blocks') {
      // Only answers to our requests are checked (certificates, execution): unasked blocks would
      // let a peer spend our CPU at will.
      const from = this.asked.get(peer);
      if (from === undefined) throw new Error('blocks that were not requested from this peer');
      this.asked.delete(peer);
      if (this.inflight?.peer === peer) this.inflight = null;
      if (m.items.length === 0) {
        // it was asked because it claimed block `from`; its own serve() always sends that block
        if (from > this.o.tip.height) this.distrustPeer(peer, `claimed block ${from} but sent none`);
        return;
      }
      this.unanswered.delete(peer);
      void this.apply(peer, m.items);
    }
  }

  private distrustPeer(peer: string, why: string): void {
    const prev = this.distrust.get(peer);
    const penaltyMs = Math.min(MAX_DISTRUST_MS, prev ? prev.penaltyMs * 2 : FIRST_DISTRUST_MS);
    this.distrust.set(peer, { until: Date.now() + penaltyMs, penaltyMs });
    this.peerHeights.delete(peer);
    this.o.logger.warn("sync: ignoring a peer's height for a while", { peer, why, forMs: penaltyMs });
  }

  private async serve(peer: string, from: number, count: number): Promise<void> {
    const items: { block: Uint8Array; commit: Uint8Array }[] = [];
    let bytes = 0;
    const limit = this.o.maxResponseBytes ?? 8 * 1024 * 1024;
    for (let h = Math.max(from, this.o.store.lowestHeight()); h < from + count && h <= this.o.tip.height; h++) {
      const block = await this.o.store.getBlockBytes(h);
      const commit = await this.o.store.getCommitBytes(h);
      if (!block || !commit) break;
      items.push({ block, commit });
      bytes += block.length + commit.length;
      if (bytes >= limit) break;
    }
    this.o.out.send(peer, 'sync', encodeMsg({ kind: 'blocks', items }));
  }

  /** Whether `cert` certifies `block` as the next block of this node's tip (the check apply repeats under the commit queue). */
  private certifies(block: Block, cert: CommitCertificate): boolean {
    const tip = this.o.tip;
    if (cert.height !== block.header.height || !bytesEqual(cert.blockHash, blockHash(block.header))) return false;
    try {
      verifyCommit(tip.chainId, tip.validators, cert);
      return true;
    } catch {
      return false;
    }
  }

  private async apply(peer: string, items: { block: Uint8Array; commit: Uint8Array }[]): Promise<void> {
    if (this.applying) return;
    this.applying = true;
    let applied = 0;
    try {
      for (const it of items) {
        const block = decodeBlock(it.block);
        const cert = decodeCommit(it.commit);
        // The next block, certified: its txs' signatures are verified off this thread first
        // (consensus goes on meanwhile), and its execution under the commit queue finds them
        // verified. Certified first, so that a peer's forged block costs no more than before.
        if (block.header.height === this.o.tip.height + 1 && this.certifies(block, cert))
          await this.o.engine.verifyTxsOf(block);
        const ok = await this.o.engine.serialize(async () => {
          const tip = this.o.tip;
          if (block.header.height <= tip.height) return true; // already have it
          if (block.header.height !== tip.height + 1) return false;
          const hash = blockHash(block.header);
          if (cert.height !== block.header.height || !bytesEqual(cert.blockHash, hash))
            throw new Error('certificate does not match block');
          verifyCommit(tip.chainId, tip.validators, cert); // V(h) signed block h
          const exec = tip.validateNext(block, this.o.engine.verifiedTxs);
          await this.o.engine.applyCommitted(block, cert, exec, it.block);
          applied++;
          return true;
        });
        if (!ok) break;
      }
    } catch (err) {
      this.distrustPeer(peer, `invalid block: ${(err as Error).message}`);
    } finally {
      this.applying = false;
    }
    if (applied > 0) {
      this.o.logger.info('synced blocks', { peer, applied, height: this.o.tip.height });
      this.o.engine.resyncedTo();
      this.announce();
      this.maybeRequest();
    }
  }
}
