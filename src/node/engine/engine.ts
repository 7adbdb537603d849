import {
  type Block,
  type CommitCertificate,
  type Evidence,
  type Hash,
  type SignedVote,
  type Tx,
  blockHash,
  decodeBlockShared,
  decodeCommit,
  encodeBlock,
  evidenceId,
  fromHex,
  proposalSignBytes,
  toHex,
  verifyDomain,
  verifyVote,
  voteSignBytes,
  Tags,
  domainMessage,
  sha256Hex,
  bytesEqual,
  decodeTxShared,
  txIdShared,
} from '../../chain/index.js';
import {
  initialState,
  step,
  proposerFor,
  hasQuorum,
  type ConsensusEffect,
  type ConsensusInput,
  type ConsensusState,
  type ConsensusTimeouts,
  type Vote,
} from '../../consensus/index.js';
import type { Logger } from '../../lib/logging.js';
import type { NodeMetrics } from '../metrics.js';
import type { Mempool } from '../mempool/index.js';
import { DoubleSignError, type PrivValidator, type SignStepName } from '../store/index.js';
import type { ChainTip } from './chain-tip.js';
import { chainOps, type Execution } from './chain-ops.js';
import { BlockBudget, blockExecBudgetMs } from './block-budget.js';
import { decodeMsg, encodeMsg, type ProposalMsg, type VoteMsg } from './messages.js';
import { badSignature } from '../p2p/index.js';

/**
 * Drives the pure consensus machine: feeds it verified proposals/votes and timeouts, and
 * performs its effects (build/validate blocks, sign through the privval guard, broadcast,
 * commit). All consensus inputs run synchronously on the event loop; the async parts are the
 * store write of a commit, serialized through `commitQueue` (shared with block sync), and the
 * signature verify of a proposal's txs not verified yet, done in the verify pool
 * (mempool.verifyInto) before the proposal is validated, in turn, through the same queue.
 */
export interface Outbox {
  broadcast(channel: 'consensus' | 'sync', payload: Uint8Array): void;
  send(peer: string, channel: 'consensus' | 'sync', payload: Uint8Array): void;
}

export interface EngineOptions {
  tip: ChainTip;
  mempool: Mempool<Tx>;
  out: Outbox;
  privval: PrivValidator;
  nodePublicKey: Uint8Array;
  timeouts: Partial<ConsensusTimeouts>;
  logger: Logger;
  metrics?: NodeMetrics;
  /** After a block is durably committed and applied (consensus or sync). */
  onCommitted: (c: { block: Block; hash: Hash; cert: CommitCertificate; exec: Execution }) => void;
  /** Asks block sync to fetch a block we know was decided but do not have. */
  requestSync: () => void;
  now?: () => number;
}

interface CachedBlock {
  block: Block;
  bytes: Uint8Array;
  exec: Execution | null;
}

// Consensus messages that arrive while a commit is being written wait for the next height.
// Capped per peer, so one peer's flood cannot push out the honest validators' votes.
const MAX_BUFFERED_PER_PEER = 64;
const MAX_BUFFERED = 1024;
// Validating a proposal executes its block. An equivocating proposer gets two blocks per round
// validated (so a quorum for either can still commit from memory) and rounds far ahead of ours
// wait until we are near them (the proposer re-sends while a height does not progress).
const MAX_PROPOSALS_PER_ROUND = 2;
const PROPOSAL_ROUNDS_AHEAD = 16;
const MAX_VERIFIED_VOTES = 10_000;
/** "Cannot see a quorum" is not reported in the first seconds after start (peers are still being dialed). */
const QUORUM_GRACE_MS = 10_000;
/**
 * A validator whose votes reached us this recently counts as visible even with no connection under
 * its key: after a consensus-key rotation its p2p identity stays its first key
 * (src/node/consensus-keys.ts). Its own votes are re-sent every second (regossip), so a few seconds
 * without one means it is cut off, as the p2p ping deadline would say for a connection.
 */
const VOTES_SEEN_VISIBLE_MS = 5_000;
/** While cut off (no quorum visible, or no block finalized) the warning is repeated this often. */
const CUT_OFF_WARN_INTERVAL_MS = 15_000;
/** A height that takes this long is reported (at most every CUT_OFF_WARN_INTERVAL_MS). */
const STALL_WARN_MS = 10_000;
/** How often a validator whose key signs asynchronously asks again for its failed precommit of a decided block. */
const OWN_PRECOMMIT_RETRY_MS = 1_000;

export class ConsensusEngine {
  private cs: ConsensusState;
  private readonly selfHex: string;
  private readonly chainId: string;
  private blocks = new Map<string, CachedBlock>();
  /** The signed proposal processed per round of the current height (to recognise a re-send). */
  private proposalsSeen = new Map<
    number,
    { bytes: Uint8Array; hashHex: string; polRound: number; signature: Uint8Array; distinct: number }
  >();
  private myMsgs: Buffer[] = [];
  private timers = new Set<NodeJS.Timeout>();
  private buffered: { peer: string; payload: Buffer }[] = [];
  private readonly bufferedByPeer = new Map<string, number>();
  /** Encodings of votes already verified at this height (and the next). */
  private readonly verifiedVotes = new Set<string>();
  /** When a vote signed by each validator of the set last arrived (visiblePower). */
  private readonly voteSeenAt = new Map<string, number>();
  /** Txs per proposal from the measured cost of executing blocks (see block-budget.ts). */
  private readonly budget = new BlockBudget();
  private committing = false;
  private commitQueue: Promise<unknown> = Promise.resolve();
  private lastCert: CommitCertificate | null = null;
  private pendingEvidence = new Map<string, Evidence>();
  private regossipTimer: NodeJS.Timeout | null = null;
  private lastProgressHeight = 0;
  private heightStartedAt = 0;
  private stopped = false;
  private readonly now: () => number;
  /** Peers with an open P2P connection (node key hex = validator id). */
  private readonly peersUp = new Set<string>();
  private startedAt = 0;
  private quorumVisible: boolean | null = null;
  private quorumLostAt = 0;
  private quorumWarnedAt = 0;
  private stallWarnedAt = 0;

  constructor(private readonly o: EngineOptions) {
    this.cs = initialState({ timeouts: o.timeouts });
    this.selfHex = toHex(o.nodePublicKey);
    this.chainId = o.tip.chainId;
    this.now = o.now ?? Date.now;
  }

  get height(): number {
    return this.cs.height;
  }
  get round(): number {
    return this.cs.round;
  }

  async start(store: { getCommitBytes(h: number): Promise<Uint8Array | undefined> }): Promise<void> {
    const tip = this.o.tip;
    if (tip.height > 0) {
      const c = await store.getCommitBytes(tip.height);
      this.lastCert = c ? decodeCommit(c) : null;
    }
    const last = this.o.privval.lastSigned();
    if (last && last.height === tip.height + 1) {
      const stepName = last.step === 1 ? 'propose' : last.step === 2 ? 'prevote' : 'precommit';
      this.dispatch({ kind: 'restore', height: last.height, round: last.round, step: stepName });
    }
    this.startedAt = this.now();
    this.startHeight();
    this.regossipTimer = setInterval(() => {
      this.regossip();
      this.watchConnectivity();
    }, 1_000);
    this.regossipTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.regossipTimer) clearInterval(this.regossipTimer);
  }

  /** Serializes every state-changing commit (consensus or sync). */
  serialize<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.commitQueue.then(fn, fn);
    this.commitQueue = p.catch(() => undefined);
    return p;
  }

  /**
   * Verifies in the verify pool the signatures of a synced block's txs that this node has not
   * verified, so that its execution finds them in the cache (`verifiedTxs`) instead of verifying
   * each on this thread, which holds consensus meanwhile (measured with bench:chain at 1,800 tx/s:
   * up to 2 s of a validator's event loop). Without a pool, or if it refuses, execution verifies them.
   */
  async verifyTxsOf(block: Block): Promise<void> {
    if (!this.o.mempool.verifiesOffThread) return;
    const txs = this.unverifiedTxs(block);
    if (txs.length === 0) return;
    await this.o.mempool.verifyInto(txs, 'high', () => block.header.height > this.o.tip.height).catch(() => undefined);
  }

  /** Hashes of the txs whose signature this node verified (the mempool's cache). */
  get verifiedTxs(): Set<string> {
    return this.o.mempool.verified;
  }

  private startHeight(): void {
    const tip = this.o.tip;
    this.blocks.clear();
    this.proposalsSeen.clear();
    this.proposalsVerifying.clear();
    this.verifiedVotes.clear();
    this.polSent.clear();
    this.mySigs.clear();
    this.pendingSigs.clear();
    this.myMsgs = [];
    this.heightStartedAt = this.now();
    const validators = tip.validators.map((v) => ({ id: toHex(v.publicKey), power: v.power }));
    this.dispatch({
      kind: 'start',
      height: tip.height + 1,
      validators,
      self: this.selfHex,
      lastCommitRound: this.lastCert?.round ?? 0,
    });
    const replay = this.buffered;
    this.buffered = [];
    this.bufferedByPeer.clear();
    // Outside the network's handler: one bad message must neither stop the replay nor escape
    // into the commit's promise chain (an unhandled rejection ends the process).
    for (const m of replay) {
      try {
        this.onMessage(m.peer, m.payload);
      } catch (err) {
        this.o.logger.debug('dropped a held-back consensus message', { peer: m.peer, err: (err as Error).message });
      }
    }
  }

  /** Holds a message for the next height, unless the peer's share (or the whole buffer) is used up. */
  private holdBack(peer: string, payload: Buffer): void {
    const n = this.bufferedByPeer.get(peer) ?? 0;
    if (n >= MAX_BUFFERED_PER_PEER || this.buffered.length >= MAX_BUFFERED) return;
    this.bufferedByPeer.set(peer, n + 1);
    this.buffered.push({ peer, payload: Buffer.from(payload) });
  }

  private dispatch(input: ConsensusInput): void {
    if (this.stopped) return;
    const r = step(this.cs, input);
    this.cs = r.state;
    this.o.metrics?.consensusRound.set(this.cs.round);
    for (const e of r.effects) {
      if (e.kind !== 'scheduleTimeout')
        this.o.logger.debug('consensus effect', {
          input: input.kind,
          effect: e.kind,
          height: this.cs.height,
          round: this.cs.round,
        });
      try {
        this.perform(e);
      } catch (err) {
        this.o.logger.error('consensus effect failed', { effect: e.kind, err: (err as Error).message });
      }
    }
  }

  private perform(e: ConsensusEffect): void {
    switch (e.kind) {
      case 'scheduleTimeout': {
        const t = setTimeout(() => {
          this.timers.delete(t);
          this.dispatch({ kind: 'timeout', height: e.height, round: e.round, step: e.step });
        }, e.durationMs);
        this.timers.add(t);
        return;
      }
      case 'buildProposal':
        return this.scheduleBuild(e.height, e.round);
      case 'broadcastProposal':
        return this.broadcastProposal(e.height, e.round, e.blockHash, e.polRound);
      case 'signVote':
        return this.signVote(e.vote);
      case 'commit':
        return void this.commitDecided(e.height, e.round, e.blockHash, e.precommits);
      case 'evidence': {
        const ev: Evidence = { voteA: toSignedVote(e.a), voteB: toSignedVote(e.b) };
        if (ev.voteA.signature.length !== 64 || ev.voteB.signature.length !== 64) return;
        this.pendingEvidence.set(toHex(evidenceId(ev)), ev);
        this.o.metrics?.evidence.inc();
        this.o.logger.warn('equivocation evidence', {
          validator: e.a.validator,
          height: e.a.height,
          round: e.a.round,
          type: e.a.type,
        });
        return;
      }
    }
  }

  // ------------------------------------------------------------------ proposing

  private scheduleBuild(height: number, round: number): void {
    const tip = this.o.tip;
    const interval = chainOps.params(tip.state).blockIntervalMs;
    const delay = tip.height === 0 ? 0 : Math.max(0, tip.headTime + interval - this.now());
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.cs.height !== height || this.cs.round !== round || this.cs.step !== 'propose' || this.committing) return;
      this.buildProposal(height, round);
    }, delay);
    this.timers.add(t);
  }

  private buildProposal(height: number, round: number): void {
    const tip = this.o.tip;
    const params = chainOps.params(tip.state);
    const started = performance.now();
    const budgetMs = blockExecBudgetMs(this.cs.timeouts.proposeMs, params.blockIntervalMs);
    const reaped = this.o.mempool.reap(
      this.budget.maxTxs(params.maxBlockTxs, budgetMs),
      Math.max(0, params.maxBlockBytes - 64 * 1024),
    );
    const evidence = [...this.pendingEvidence.values()].slice(0, 16);
    const { block, exec } = tip.buildNext({
      proposer: this.o.nodePublicKey,
      time: this.now(),
      txs: reaped.map((e) => e.bytes),
      evidence,
      lastCommit: this.lastCert,
      verified: this.o.mempool.verified,
    });
    this.budget.observeBuild(block.txs.length, performance.now() - started);
    const bytes = encodeBlock(block);
    const hash = toHex(blockHash(block.header));
    this.blocks.set(hash, { block, bytes, exec });
    this.o.logger.debug('built proposal', { height, round, txs: block.txs.length, hash });
    this.dispatch({ kind: 'proposalReady', height, round, blockHash: hash });
  }

  private broadcastProposal(height: number, round: number, hashHex: string, polRound: number): void {
    if (!this.blocks.has(hashHex)) return;
    const hash = fromHex(hashHex, 32);
    const bytes = domainMessage(Tags.PROPOSAL, proposalSignBytes(this.chainId, height, round, hash, polRound));
    if (!this.o.privval.signsSync) {
      void this.signLater(height, round, 'proposal', bytes, (sig) =>
        this.sendProposal(height, round, hashHex, polRound, sig),
      );
      return;
    }
    let signature: Uint8Array;
    try {
      signature = this.o.privval.sign(height, round, 'proposal', bytes);
    } catch (err) {
      if (err instanceof DoubleSignError) {
        this.o.logger.warn(err.message);
        return;
      }
      throw err;
    }
    this.sendProposal(height, round, hashHex, polRound, signature);
  }

  private sendProposal(height: number, round: number, hashHex: string, polRound: number, signature: Uint8Array): void {
    const cached = this.blocks.get(hashHex);
    if (!cached) return;
    const msg = encodeMsg({
      kind: 'proposal',
      height,
      round,
      polRound,
      proposer: this.o.nodePublicKey,
      signature,
      block: cached.bytes,
    });
    // A re-proposed locked value travels with its proof of lock: a peer that missed some of those
    // prevotes (their signer was cut off right after sending them to others; votes are sent by their
    // signer only) can check the POL, unlock and prevote it. Without them the validators locked on
    // it and the ones that cannot see its POL keep voting past each other until the missing
    // signer's link comes back.
    if (polRound >= 0) {
      for (const v of this.polPrevotes(height, polRound, hashHex)) {
        this.myMsgs.push(v);
        this.o.out.broadcast('consensus', v);
      }
    }
    this.myMsgs.push(msg);
    this.o.out.broadcast('consensus', msg);
  }

  /**
   * Signs with a key that signs only asynchronously (a KMS key): privval records the position
   * before the key is asked, so nothing else can be signed there meanwhile. The message is sent
   * when the signature arrives if the height is still the one it was signed for: a proposal or vote
   * of an earlier round of this height is still of use to a peer (and harmless, privval signed only
   * it there); one of a finished height is not. A failure (throttling, network) is logged and the
   * message is not sent: the round times out and the next round signs again.
   */
  private signLater(
    height: number,
    round: number,
    step: SignStepName,
    bytes: Uint8Array,
    deliver: (signature: Uint8Array) => void,
  ): Promise<Uint8Array | null> {
    return this.o.privval.signAsync(height, round, step, bytes).then(
      (signature) => {
        if (this.stopped || this.cs.height !== height) {
          this.o.logger.debug('signature arrived after its height; not sent', { height, round, step });
          return null;
        }
        deliver(signature);
        return signature;
      },
      (err: unknown) => {
        if (err instanceof DoubleSignError) this.o.logger.warn(err.message);
        else
          this.o.logger.error('consensus signature failed; the round will time out', {
            height,
            round,
            step,
            code: (err as { code?: string }).code,
            err: (err as Error).message,
          });
        return null;
      },
    );
  }

  /** The signed prevotes for `hashHex` in `round` this node counted (others' once each, at most once per height). */
  private polPrevotes(height: number, round: number, hashHex: string): Buffer[] {
    const out: Buffer[] = [];
    for (const [validator, list] of Object.entries(this.cs.votes[round]?.prevote ?? {})) {
      if (validator === this.selfHex) continue; // our own vote is in myMsgs already
      const key = `${round}/${validator}`;
      if (this.polSent.has(key)) continue;
      const v = list.find((x) => x.blockHash === hashHex);
      if (!v?.signature) continue;
      this.polSent.add(key);
      out.push(
        encodeMsg({
          kind: 'vote',
          type: 'prevote',
          height,
          round,
          blockHash: fromHex(hashHex, 32),
          validator: fromHex(validator, 32),
          signature: fromHex(v.signature, 64),
        }),
      );
    }
    return out;
  }
  /** Others' POL prevotes already added to myMsgs at this height (`round/validator`). */
  private readonly polSent = new Set<string>();

  private signVote(v: Vote): void {
    const hash = v.blockHash === null ? null : fromHex(v.blockHash, 32);
    const bytes = domainMessage(Tags.VOTE, voteSignBytes(this.chainId, v.type, v.height, v.round, hash));
    if (!this.o.privval.signsSync) {
      const p = this.signLater(v.height, v.round, v.type, bytes, (sig) => this.sendVote(v, hash, sig));
      this.pendingSigs.set(`${v.round}/${v.type}`, p);
      return;
    }
    let signature: Uint8Array;
    try {
      signature = this.o.privval.sign(v.height, v.round, v.type, bytes);
    } catch (err) {
      if (err instanceof DoubleSignError) {
        this.o.logger.warn(err.message);
        return;
      }
      throw err;
    }
    this.sendVote(v, hash, signature);
  }

  private sendVote(v: Vote, hash: Uint8Array | null, signature: Uint8Array): void {
    const msg = encodeMsg({
      kind: 'vote',
      type: v.type,
      height: v.height,
      round: v.round,
      blockHash: hash,
      validator: this.o.nodePublicKey,
      signature,
    });
    this.mySigs.set(`${v.round}/${v.type}`, signature);
    this.myMsgs.push(msg);
    this.o.out.broadcast('consensus', msg);
  }
  /** This height's own vote signatures (`round/type`). */
  private mySigs = new Map<string, Uint8Array>();
  /** This height's own vote signatures still being made by an asynchronous key (`round/type`; null: failed). */
  private readonly pendingSigs = new Map<string, Promise<Uint8Array | null>>();

  /**
   * Our precommit for a decided block, when the key signs asynchronously: consensus counted it
   * when it was cast (src/consensus/rules.ts castVote), so the commit certificate needs its
   * signature. A failed request is made again every OWN_PRECOMMIT_RETRY_MS (the same bytes at the
   * same position, which privval allows) until it succeeds or block sync moves the height on.
   */
  private async ownPrecommit(height: number, round: number, hashHex: string): Promise<Uint8Array | null> {
    const key = `${round}/precommit`;
    for (;;) {
      const sig = await (this.pendingSigs.get(key) ?? Promise.resolve(null));
      if (sig !== null) return sig;
      if (this.stopped || this.cs.height !== height) return null;
      this.o.requestSync(); // the others may have committed it without us
      await new Promise<void>((ok) => {
        const t = setTimeout(() => {
          this.timers.delete(t);
          ok();
        }, OWN_PRECOMMIT_RETRY_MS);
        this.timers.add(t);
      });
      if (this.stopped || this.cs.height !== height) return null;
      this.signVote({ type: 'precommit', height, round, blockHash: hashHex, validator: this.selfHex });
    }
  }

  /** Signatures checked while validating a proposal are cached too: the same txs may still wait in the gossip queue, or come back in a later round's proposal. */
  private readonly markVerified = (hashHex: string): void => this.o.mempool.markVerified(hashHex);

  // ------------------------------------------------------------------ receiving

  /** Throws on a malformed message or a bad signature (the network counts it, and bans for the latter); held back while committing. */
  onMessage(peer: string, payload: Buffer): void {
    if (this.stopped) return;
    const m = decodeMsg(payload); // before holding back: a malformed message takes no room
    if (this.committing) return this.holdBack(peer, payload);
    if (m.kind === 'proposal') this.onProposal(peer, m, payload);
    else if (m.kind === 'vote') this.onVote(m, payload);
  }

  /** Per round of the current height, the blocks whose txs' signatures are being verified in the pool. */
  private readonly proposalsVerifying = new Map<number, Set<string>>();

  private onProposal(peer: string, m: ProposalMsg, raw: Buffer): void {
    const next = this.o.tip.height + 1;
    if (m.height < next) return;
    if (m.height > next) {
      this.holdBack(peer, raw);
      this.o.requestSync();
      return;
    }
    const validators = this.cs.validators;
    if (toHex(m.proposer) !== proposerFor(validators, m.height, m.round)) return;
    if (m.round > this.cs.round + PROPOSAL_ROUNDS_AHEAD) return;
    // A re-sent proposal (regossip while a height is slow) is byte-identical: skip decoding and
    // re-validating a large block on the busiest path; a different one is processed in full, up
    // to MAX_PROPOSALS_PER_ROUND.
    const seen = this.proposalsSeen.get(m.round);
    if (
      seen !== undefined &&
      seen.polRound === m.polRound &&
      bytesEqual(seen.signature, m.signature) &&
      seen.bytes.length === m.block.length &&
      Buffer.compare(seen.bytes, m.block) === 0
    ) {
      // same signed proposal as before: hand it to the state machine again (it may have been too
      // far ahead the first time), but do not decode or validate it again
      const cached = this.blocks.get(seen.hashHex);
      this.dispatch({
        kind: 'proposal',
        height: m.height,
        round: m.round,
        blockHash: seen.hashHex,
        polRound: m.polRound,
        proposer: toHex(m.proposer),
        valid: cached !== undefined && cached.exec !== null,
      });
      return;
    }
    const verifying = this.proposalsVerifying.get(m.round);
    if ((seen?.distinct ?? 0) + (verifying?.size ?? 0) >= MAX_PROPOSALS_PER_ROUND) return;
    const bytes = new Uint8Array(m.block); // owned and immutable: the block's txs are views into it
    const block = decodeBlockShared(bytes);
    const hash = blockHash(block.header);
    if (
      !verifyDomain(
        Tags.PROPOSAL,
        m.proposer,
        proposalSignBytes(this.chainId, m.height, m.round, hash, m.polRound),
        m.signature,
      )
    )
      throw badSignature('proposal');
    const hashHex = toHex(hash);
    if (verifying?.has(hashHex)) return; // re-sent while its txs are verified: that validation will deliver it
    let cached = this.blocks.get(hashHex);
    if (!cached) {
      // Txs this node already admitted: execute the mempool's identical bytes object, whose hash
      // and decoded form were computed at admission and are shared (txIdShared, decodeTxShared).
      for (let i = 0; i < block.txs.length; i++) {
        const e = this.o.mempool.get(sha256Hex(block.txs[i]!)); // tx hash; not cached: the view is dropped when found
        if (e !== undefined) block.txs[i] = e.bytes;
      }
      const unverified = this.o.mempool.verifiesOffThread ? this.unverifiedTxs(block) : [];
      if (unverified.length > 0) return this.validateAfterVerify(peer, m, block, bytes, hashHex, unverified);
      cached = this.validate(peer, m, block, bytes, hashHex);
    }
    this.acceptProposal(m, hashHex, cached, seen);
  }

  /** The decodable txs of a block whose signature this node has not verified (undecodable ones fail in execution). */
  private unverifiedTxs(block: Block): { tx: Tx; bytes: Uint8Array; hashHex: string }[] {
    const out: { tx: Tx; bytes: Uint8Array; hashHex: string }[] = [];
    const verified = this.o.mempool.verified;
    for (const bytes of block.txs) {
      const { hex } = txIdShared(bytes); // the execution reuses it
      if (verified.has(hex)) continue;
      try {
        out.push({ tx: decodeTxShared(bytes), bytes, hashHex: hex });
      } catch {
        /* undecodable: the execution rejects it */
      }
    }
    return out;
  }

  /**
   * Verifies a proposal's unverified tx signatures in the pool (ahead of gossip), then validates
   * it through the commit queue, so it never runs against a tip a commit is changing. By then the
   * height may be decided or committed: the proposal is dropped. Proposals of other rounds of the
   * same height are still delivered, as when they arrive late (the machine records them; a block
   * precommitted in an earlier round is committed from `blocks`). If the pool cannot verify
   * (busy, closed, crashed twice) validateNext verifies inline: slower, never wrong.
   */
  private validateAfterVerify(
    peer: string,
    m: ProposalMsg,
    block: Block,
    bytes: Uint8Array,
    hashHex: string,
    txs: { tx: Tx; bytes: Uint8Array; hashHex: string }[],
  ): void {
    let set = this.proposalsVerifying.get(m.round);
    if (!set) {
      set = new Set();
      this.proposalsVerifying.set(m.round, set);
    }
    const verifying = set;
    verifying.add(hashHex);
    const started = performance.now();
    let verifyMs = 0;
    void this.o.mempool
      // skipped once the chain has passed its height: verifying it would only delay what is current
      .verifyInto(txs, 'high', () => m.height > this.o.tip.height)
      .then(() => {
        verifyMs = performance.now() - started;
      })
      .catch((err: unknown) => {
        if (!this.stopped)
          this.o.logger.warn('verify pool unavailable; verifying the proposal inline', {
            height: m.height,
            round: m.round,
            err: (err as Error).message,
          });
      })
      .then(() =>
        this.serialize(async () => {
          verifying.delete(hashHex);
          if (this.stopped || this.committing || m.height !== this.o.tip.height + 1 || m.height !== this.cs.height) {
            this.o.logger.debug('dropped a proposal whose height moved on while its txs were verified', {
              height: m.height,
              round: m.round,
            });
            return;
          }
          // the block budget learns verify + validate, not the wait for a commit in the queue
          const cached =
            this.blocks.get(hashHex) ?? this.validate(peer, m, block, bytes, hashHex, performance.now() - verifyMs);
          this.acceptProposal(m, hashHex, cached, this.proposalsSeen.get(m.round));
        }),
      )
      .catch((err: unknown) => this.o.logger.error('proposal validation failed', { err: (err as Error).message }));
  }

  /** `startedAt`: when the proposal's handling began (before a verify in the pool): the block budget learns the whole cost. */
  private validate(
    peer: string,
    m: ProposalMsg,
    block: Block,
    bytes: Uint8Array,
    hashHex: string,
    startedAt = performance.now(),
  ): CachedBlock {
    let exec: Execution | null = null;
    try {
      exec = this.o.tip.validateNext(block, this.o.mempool.verified, {
        maxFutureMs: 30_000,
        now: this.now(),
        onVerified: this.markVerified,
      });
      this.budget.observeValidate(block.txs.length, performance.now() - startedAt);
    } catch (err) {
      this.o.logger.warn('invalid proposal', { peer, height: m.height, round: m.round, err: (err as Error).message });
    }
    const cached = { block, bytes, exec };
    this.blocks.set(hashHex, cached);
    return cached;
  }

  /** Hands a validated proposal to the state machine. */
  private acceptProposal(
    m: ProposalMsg,
    hashHex: string,
    cached: CachedBlock,
    seen: { distinct: number } | undefined,
  ): void {
    this.proposalsSeen.set(m.round, {
      bytes: cached.bytes,
      hashHex,
      polRound: m.polRound,
      signature: m.signature,
      distinct: (seen?.distinct ?? 0) + 1,
    });
    this.dispatch({
      kind: 'proposal',
      height: m.height,
      round: m.round,
      blockHash: hashHex,
      polRound: m.polRound,
      proposer: toHex(m.proposer),
      valid: cached.exec !== null,
    });
  }

  private onVote(m: VoteMsg, raw: Buffer): void {
    const next = this.o.tip.height + 1;
    if (m.height === next - 1) return this.addLatePrecommit(m);
    if (m.height < next || m.height > next + 1) return;
    // A vote arrives once from its signer, then again with every re-gossip (or replayed by a
    // hostile peer at will): verify each distinct encoding once per height.
    const key = raw.toString('latin1');
    if (!this.verifiedVotes.has(key)) {
      const sv: SignedVote = {
        type: m.type,
        height: m.height,
        round: m.round,
        blockHash: m.blockHash,
        validator: m.validator,
        signature: m.signature,
      };
      if (!verifyVote(this.chainId, sv)) throw badSignature('vote');
      if (this.verifiedVotes.size >= MAX_VERIFIED_VOTES) this.verifiedVotes.clear();
      this.verifiedVotes.add(key);
    }
    const signer = toHex(m.validator);
    // Only the set's keys: a self-signed vote under any other key must not grow this map.
    if (this.cs.validators.some((v) => v.id === signer)) this.voteSeenAt.set(signer, this.now());
    this.dispatch({
      kind: 'vote',
      vote: {
        type: m.type,
        height: m.height,
        round: m.round,
        blockHash: m.blockHash ? toHex(m.blockHash) : null,
        validator: toHex(m.validator),
        signature: toHex(m.signature),
      },
    });
  }

  /**
   * A precommit for the block just committed that arrives after the decision (2f+1 decide it):
   * added to the certificate that this node's next proposal carries as lastCommit, so a block
   * records every validator that signed in time, not only the first 2f+1, and the per-validator
   * liveness metrics do not count the slowest honest validator as missing. Each validator is
   * verified once; anything else about the old height is ignored, as before.
   */
  private addLatePrecommit(m: VoteMsg): void {
    const c = this.lastCert;
    if (
      !c ||
      m.type !== 'precommit' ||
      m.height !== c.height ||
      m.round !== c.round ||
      m.blockHash === null ||
      !bytesEqual(m.blockHash, c.blockHash)
    )
      return;
    if (c.signatures.some((s) => bytesEqual(s.validator, m.validator))) return;
    if (!this.o.tip.lastValidators.some((v) => bytesEqual(v.publicKey, m.validator))) return;
    if (
      !verifyVote(this.chainId, {
        type: m.type,
        height: m.height,
        round: m.round,
        blockHash: m.blockHash,
        validator: m.validator,
        signature: m.signature,
      })
    )
      throw badSignature('vote');
    this.lastCert = {
      ...c,
      signatures: [...c.signatures, { validator: new Uint8Array(m.validator), signature: new Uint8Array(m.signature) }],
    };
  }

  /** Re-sends this height's own proposal/votes when the height is not progressing (lost messages, restarted peers). */
  private regossip(): void {
    if (this.committing || this.stopped) return;
    if (this.cs.height === this.lastProgressHeight && this.now() - this.heightStartedAt > 1_000) {
      for (const m of this.myMsgs) this.o.out.broadcast('consensus', m);
    }
    this.lastProgressHeight = this.cs.height;
  }

  /** Sends our current-height messages to a newly connected peer. */
  onPeerUp(peer: string): void {
    this.peersUp.add(peer);
    for (const m of this.myMsgs) this.o.out.send(peer, 'consensus', m);
    this.watchConnectivity();
  }

  onPeerDown(peer: string): void {
    this.peersUp.delete(peer);
    this.watchConnectivity();
  }

  /** Voting power of the validators this node is connected to, itself included. */
  visiblePower(): { visible: number; total: number; missing: string[] } {
    let visible = 0;
    const missing: string[] = [];
    const now = this.now();
    for (const v of this.cs.validators) {
      const heard = now - (this.voteSeenAt.get(v.id) ?? Number.NEGATIVE_INFINITY) <= VOTES_SEEN_VISIBLE_MS;
      if (v.id === this.selfHex || this.peersUp.has(v.id) || heard) visible += v.power;
      else missing.push(v.id);
    }
    return { visible, total: this.cs.totalPower, missing };
  }

  /**
   * Keeps `consortia_p2p_quorum_visible` current and says so in the log when this node is cut off
   * from a quorum of validators (at once, then every CUT_OFF_WARN_INTERVAL_MS while it lasts) or
   * when a height is not finalized for STALL_WARN_MS: a partitioned node is not silent.
   */
  private watchConnectivity(): void {
    if (this.stopped || this.cs.validators.length === 0) return;
    const now = this.now();
    const { visible, total, missing } = this.visiblePower();
    const ok = hasQuorum(visible, total);
    this.o.metrics?.p2pQuorumVisible.set(ok ? 1 : 0);
    const ctx = (): Record<string, unknown> => ({
      visiblePower: visible,
      totalPower: total,
      missingValidators: missing.map((k) => k.slice(0, 16)),
      height: this.cs.height,
      round: this.cs.round,
      step: this.cs.step,
    });
    if (!ok) {
      if (this.quorumVisible !== false) this.quorumLostAt = now;
      this.quorumVisible = false;
      if (now - this.startedAt >= QUORUM_GRACE_MS && now - this.quorumWarnedAt >= CUT_OFF_WARN_INTERVAL_MS) {
        this.quorumWarnedAt = now;
        this.o.logger.warn('cannot see a quorum of validators: no block can be finalized with the peers connected', {
          ...ctx(),
          forMs: now - this.quorumLostAt,
        });
      }
    } else {
      if (this.quorumVisible === false && this.quorumWarnedAt >= this.quorumLostAt) {
        this.o.logger.info('quorum of validators visible again', { ...ctx(), afterMs: now - this.quorumLostAt });
      }
      this.quorumVisible = true;
      this.quorumWarnedAt = 0;
    }
    const stalledMs = now - this.heightStartedAt;
    if (!this.committing && stalledMs >= STALL_WARN_MS && now - this.stallWarnedAt >= CUT_OFF_WARN_INTERVAL_MS) {
      this.stallWarnedAt = now;
      this.o.logger.warn('height not finalized yet', {
        ...ctx(),
        forMs: stalledMs,
        peers: this.peersUp.size,
        quorumVisible: ok,
      });
    }
  }

  // ------------------------------------------------------------------ committing

  private commitDecided(height: number, round: number, hashHex: string, precommits: Vote[]): void {
    const ownUnsigned = precommits.some((v) => v.validator === this.selfHex && v.blockHash === hashHex && !v.signature);
    if (ownUnsigned && !this.o.privval.signsSync && !this.mySigs.has(`${round}/precommit`)) {
      void this.ownPrecommit(height, round, hashHex).then((sig) => {
        if (sig !== null && this.cs.height === height && !this.stopped)
          this.commitDecided(height, round, hashHex, precommits);
      });
      return;
    }
    const cached = this.blocks.get(hashHex);
    const signatures = precommits
      .filter((v) => v.blockHash === hashHex)
      .map((v) => {
        const sig = v.signature
          ? fromHex(v.signature, 64)
          : v.validator === this.selfHex
            ? this.mySigs.get(`${round}/precommit`)
            : undefined;
        return sig ? { validator: fromHex(v.validator, 32), signature: sig } : null;
      })
      .filter((x): x is { validator: Uint8Array; signature: Uint8Array } => x !== null);
    const cert: CommitCertificate = { height, round, blockHash: fromHex(hashHex, 32), signatures };
    if (!cached || !cached.exec) {
      this.o.logger.info('decided block not available locally; fetching by sync', { height, hash: hashHex });
      this.o.requestSync();
      return;
    }
    const exec = cached.exec;
    this.committing = true;
    void this.serialize(async () => {
      if (this.o.tip.height + 1 !== height) return; // sync got there first
      await this.applyCommitted(cached.block, cert, exec, cached.bytes);
    })
      .catch((err) => {
        this.o.logger.error('commit failed', { height, err: (err as Error).message });
      })
      .finally(() => {
        this.committing = false;
        if (this.o.tip.height >= height) this.startHeight();
      });
  }

  /** Durably commits a validated block, then notifies; caller holds the commit queue. */
  async applyCommitted(block: Block, cert: CommitCertificate, exec: Execution, bytes?: Uint8Array): Promise<void> {
    const hash = await this.o.tip.commit(block, cert, exec, bytes);
    this.lastCert = cert;
    for (const e of block.evidence) this.pendingEvidence.delete(toHex(evidenceId(e)));
    this.o.metrics?.roundsPerHeight.observe(cert.round + 1);
    this.o.onCommitted({ block, hash, cert, exec });
  }

  /** Block sync applied blocks beyond the consensus height: restart consensus at the new tip. */
  resyncedTo(): void {
    if (this.committing) return;
    if (this.cs.height <= this.o.tip.height) this.startHeight();
  }
}

function toSignedVote(v: Vote): SignedVote {
  return {
    type: v.type,
    height: v.height,
    round: v.round,
    blockHash: v.blockHash === null ? null : fromHex(v.blockHash, 32),
    validator: fromHex(v.validator, 32),
    signature: v.signature ? fromHex(v.signature, 64) : new Uint8Array(0),
  };
}
