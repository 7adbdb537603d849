import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Block, type BlockHeader, type CommitCertificate, type Hash, type KeyPair, type SealedGenesis, type Tx,
  StateKeys, decodeAccount, decodeAnchor, decodeAsset, decodeBlock, decodeCommit, decodeTxShared, getBalances, merkleProof,
  sealedGenesisToJSON, sign, signProofOfPossession, toHex, txIdShared, pkHexOf, verifyEncodedTxSignature,
  verifySealedGenesis, getMembers, getBalances as balancesOf, encodeHeader, WorldState,
} from '../chain/index.js';
import { ConsortiaError } from '../lib/errors.js';
import type { Logger } from '../lib/logging.js';
import type { NodeConfig } from './config.js';
import { parseHostPort } from './config.js';
import { checkProvisionedGenesis, startupGenesis } from './genesis-policy.js';
import { loadOrCreateNodeKey } from './keygen.js';
import type { NodeMetrics } from './metrics.js';
import { ValidatorLiveness, commitSigners, livenessSet, seedLiveness } from './validator-liveness.js';
import type {
  AccountLookup, HealthReport, NewBlockEvent, NodeApiBackend, NodeIdentity, NodeStatus, ProvenValue, ReadinessReport,
  StateLookup, SubmitTxOptions, TxBatchItemResult, TxLookup, TxSubmitResult,
} from './rpc/backend.js';
import { P2PNetwork } from './p2p/index.js';
import { GossipBatcher, IngestQueue, Mempool, MempoolReasons, decodeTxBatch, type MempoolChain } from './mempool/index.js';
import { ChainStore, KIND_RANGES, PrivValidator, StoreKeys, diskUsage, epochToJSON, hkey, writeDurably } from './store/index.js';
import { Pruner, type RetentionPolicy } from './retention/index.js';
import { StateHistory } from './history/index.js';
import { bootstrapFromSnapshot } from './snapshot/index.js';
import type { HeaderWithCommit, StateSnapshot, StorageStatus } from './rpc/backend.js';
import { ChainTip, ConsensusEngine, chainOps, type Execution, type Outbox } from './engine/index.js';
import { BlockSync } from './sync/index.js';

/**
 * The chain node: store + p2p + mempool + consensus engine + block sync behind the
 * NodeApiBackend seam the HTTP API uses. Without a genesis it runs in awaiting-genesis
 * mode (identity only) until installGenesis() verifies, persists and starts the chain.
 */
export const ChainNodeCodes = {
  AWAITING_GENESIS: 'AWAITING_GENESIS', GENESIS_ALREADY_SET: 'GENESIS_ALREADY_SET', NOT_FOUND: 'NOT_FOUND', PRUNED: 'PRUNED',
} as const;

export const DEFAULT_ORDINARY_RETENTION_BLOCKS = 100_000;

/** Retention window of a node: ordinary (and validators that opt in) prune; super keeps everything. */
export function retentionOf(cfg: NodeConfig): RetentionPolicy | null {
  if (cfg.role === 'super' || cfg.role === 'light') return null;
  if (cfg.retentionBlocks === undefined && cfg.retentionSeconds === undefined) return cfg.role === 'ordinary' ? { blocks: DEFAULT_ORDINARY_RETENTION_BLOCKS } : null;
  return { ...(cfg.retentionBlocks !== undefined ? { blocks: cfg.retentionBlocks } : {}), ...(cfg.retentionSeconds !== undefined ? { seconds: cfg.retentionSeconds } : {}) };
}

interface Running {
  sealed: SealedGenesis;
  tip: ChainTip;
  mempool: Mempool<Tx>;
  network: P2PNetwork;
  engine: ConsensusEngine;
  sync: BlockSync;
  gossip: GossipBatcher;
  ingest: IngestQueue;
  allowed: Set<string>;
  pruner: Pruner | null;
  privval: PrivValidator;
}

type Waiter = (r: TxSubmitResult) => void;

/** Signer of an encoded tx without decoding it: u8 version | u32 len | chainId | signer(32). */
function signerHexOf(bytes: Uint8Array): string | null {
  if (bytes.length < 5) return null;
  const len = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUInt32BE(1);
  const o = 5 + len;
  return o + 32 <= bytes.length ? toHex(bytes.subarray(o, o + 32)) : null;
}

export class ChainNode implements NodeApiBackend {
  private run: Running | null = null;
  private readonly listeners = new Set<(e: NewBlockEvent) => void>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly popSig: Uint8Array;
  private closed = false;
  private startedAt = Date.now();
  private diskBytes = 0;
  private storageTimer: NodeJS.Timeout | null = null;
  private readonly history: StateHistory | null;

  private constructor(
    private readonly config: NodeConfig,
    private readonly key: KeyPair,
    private readonly store: ChainStore,
    private readonly logger: Logger,
    private readonly metrics: NodeMetrics | undefined,
  ) {
    this.popSig = signProofOfPossession(config.chainId, key.secretKey, key.publicKey);
    this.history = config.role === 'super' ? new StateHistory(store) : null;
  }

  static async open(config: NodeConfig, deps: { logger: Logger; metrics?: NodeMetrics }): Promise<ChainNode> {
    mkdirSync(config.dataDir, { recursive: true });
    const { keyPair } = loadOrCreateNodeKey(config.keyFile);
    const store = await ChainStore.open(join(config.dataDir, 'chain'), retentionOf(config) ? { writeBufferSize: 1024 * 1024 } : {});
    const node = new ChainNode(config, keyPair, store, deps.logger, deps.metrics);
    let sealed: SealedGenesis | undefined;
    try {
      // The stored genesis never silently wins over the configured one: a difference is fatal (GENESIS_MISMATCH).
      sealed = startupGenesis({
        stored: (await store.getGenesisJson()) ?? undefined,
        configured: config.genesisFile ? readFileSync(config.genesisFile, 'utf8') : undefined,
        configuredFrom: config.genesisFile,
      }, config, keyPair.publicKey);
      if (sealed) verifySealedGenesis(sealed);
    } catch (err) {
      await store.close().catch(() => undefined);
      throw err;
    }
    if (sealed) {
      await store.putGenesisJson(JSON.stringify(sealedGenesisToJSON(sealed)));
      if (config.role === 'ordinary' && store.head() === null && config.syncFrom.length > 0) {
        const h = await bootstrapFromSnapshot(sealed.genesis, store, config.syncFrom, deps.logger);
        if (h === null) deps.logger.warn('no valid snapshot from syncFrom; replaying from genesis by block sync');
      }
      await node.startChain(sealed);
    } else {
      deps.logger.info('awaiting genesis (PUT /v1/genesis)');
    }
    return node;
  }

  // ------------------------------------------------------------------ lifecycle

  private async startChain(sealed: SealedGenesis): Promise<void> {
    const cfg = this.config;
    const tip = await ChainTip.load(sealed.genesis, this.store, { history: cfg.role === 'super', accountIndex: true });
    const selfHex = toHex(this.key.publicKey);
    const chain: MempoolChain<Tx> = {
      chainId: cfg.chainId,
      txId: txIdShared, // shared with execution, like the decode
      decode: (b) => decodeTxShared(b), // the proposer's execution reuses it
      info: (t) => ({ chainId: t.chainId, signerHex: pkHexOf(t.signer), nonce: t.nonce }),
      verifySignature: (t, bytes) => verifyEncodedTxSignature(bytes, t), // against its own encoding: no re-encode
      stateNonce: (signerHex) => {
        const v = tip.state.get(StateKeys.accountOfHex(signerHex));
        return v ? decodeAccount(v).nonce : 0;
      },
      check: (t, bytes) => chainOps.check(tip.state, t, bytes.length),
    };
    const params = chainOps.params(tip.state);
    const { txTtlMs, futureNoncesMax, accountMaxTxs, peerMaxTxs } = cfg.mempool; // undefined: the mempool's defaults
    const mempool = new Mempool<Tx>(chain, {
      maxTxs: cfg.mempool.maxTxs, maxBytes: cfg.mempool.maxBytes, maxTxBytes: Math.min(cfg.maxTxBytes, params.maxTxBytes),
      txTtlMs, futureNoncesMax, accountMaxTxs, peerMaxTxs,
    });
    mempool.onReject = (code) => this.metrics?.mempoolRejections.inc({ reason: code });

    const allowed = new Set<string>();
    const refreshAllowed = (): void => {
      const members = new Set(getMembers(tip.state).map((m) => m.memberId));
      allowed.clear();
      for (const n of chainOps.nodeRegistry(tip.state)) if (members.has(n.memberId)) allowed.add(toHex(n.publicKey));
    };
    refreshAllowed();

    // Gossiped txs are admitted off the receive path, so consensus frames are never queued behind them.
    const ingest = new IngestQueue((bytes, peer) => {
      const r = mempool.add(bytes, peer);
      if (!r.ok && r.code === MempoolReasons.BAD_SIGNATURE) network.penalize(peer, 'gossiped a tx with a bad signature'); // it verified what it gossips
    }, undefined, (n) => this.metrics?.mempoolRejections.inc({ reason: 'GOSSIP_DROPPED' }, n));
    const listen = parseHostPort(cfg.p2pListen);
    let engine!: ConsensusEngine;
    let sync!: BlockSync;
    const network = new P2PNetwork({
      nodeSeed: this.key.secretKey,
      listenHost: listen.host,
      listenPort: listen.port,
      ...(cfg.p2pAdvertise !== undefined ? { advertiseHost: parseHostPort(cfg.p2pAdvertise).host } : {}),
      pingIntervalMs: cfg.p2pPingIntervalMs, peerTimeoutMs: cfg.p2pPeerTimeoutMs,
      peers: cfg.peers,
      isAllowed: (k) => allowed.has(k),
      logger: this.logger,
      countBytes: (dir, channel, n) => (dir === 'sent' ? this.metrics?.p2pSentBytes : this.metrics?.p2pReceivedBytes)?.inc({ channel }, n),
      countRejected: (channel) => this.metrics?.p2pRejectedMessages.inc({ channel }),
      onPeerUp: (peer) => { this.metrics?.p2pPeers.set(network.connectedPeers().length); sync.announce(peer); engine.onPeerUp(peer); },
      onPeerDown: (peer, reason) => {
        this.metrics?.p2pPeers.set(network.connectedPeers().length); this.metrics?.p2pPeerLost.inc({ reason });
        sync.onPeerDown(peer); engine.onPeerDown(peer);
      },
      onMessage: (peer, channel, payload) => {
        if (channel === 'consensus') engine.onMessage(peer, payload);
        else if (channel === 'sync') sync.onMessage(peer, payload);
        else ingest.push(peer, decodeTxBatch(payload));
      },
    });
    const out: Outbox = {
      broadcast: (ch, p) => network.broadcast(ch, p),
      send: (peer, ch, p) => { network.send(peer, ch, p); },
    };
    const gossip = new GossipBatcher((batch) => network.broadcast('mempool', batch));
    mempool.onAdmit = (entry, fromPeer) => {
      if (fromPeer === null) gossip.push(entry.bytes);
    };
    if (this.metrics) this.metrics.mempoolSource = { size: () => ({ txs: mempool.size, bytes: mempool.sizeBytes }) };
    const privval = new PrivValidator(join(cfg.dataDir, 'privval.state'), (m) => sign(this.key.secretKey, m), join(cfg.dataDir, 'privval.json'));
    engine = new ConsensusEngine({
      tip, mempool, out, privval, nodePublicKey: this.key.publicKey, logger: this.logger, metrics: this.metrics,
      timeouts: {
        proposeMs: cfg.consensus.timeoutProposeMs, proposeDeltaMs: cfg.consensus.timeoutDeltaMs,
        prevoteMs: cfg.consensus.timeoutPrevoteMs, prevoteDeltaMs: cfg.consensus.timeoutDeltaMs,
        precommitMs: cfg.consensus.timeoutPrecommitMs, precommitDeltaMs: cfg.consensus.timeoutDeltaMs,
        proposeAbsentMs: cfg.consensus.timeoutProposeAbsentMs, // undefined: the consensus default
      },
      onCommitted: (c) => this.onCommitted(c),
      requestSync: () => sync.request(),
    });
    sync = new BlockSync({ tip, store: this.store, engine, out, logger: this.logger });
    const policy = retentionOf(cfg);
    const pruner = policy ? new Pruner({ store: this.store, policy, logger: this.logger, ...(this.metrics ? { metrics: this.metrics } : {}) }) : null;
    this.run = { sealed, tip, mempool, network, engine, sync, gossip, ingest, allowed, pruner, privval };
    pruner?.start();
    this.startStorageStats();
    this.metrics?.chainHeight.set(tip.height);
    if (this.metrics) {
      this.liveness = new ValidatorLiveness(this.metrics.validators);
      await seedLiveness(this.liveness, this.store, tip);
    }
    await network.start();
    await engine.start(this.store);
    sync.start();
    this.logger.info('chain started', { height: tip.height, nodeKey: selfHex, validator: tip.validators.some((v) => toHex(v.publicKey) === selfHex) });
    void refreshAllowed;
    this.refreshAllowed = () => { refreshAllowed(); network.refreshAllowed(); };
  }
  private refreshAllowed: () => void = () => undefined;
  /** Per-validator signing liveness from each committed block's lastCommit (metrics only). */
  private liveness: ValidatorLiveness | null = null;

  private onCommitted(c: { block: Block; hash: Hash; cert: CommitCertificate; exec: Execution }): void {
    const r = this.run!;
    const now = Date.now();
    const hashes: string[] = [];
    const signers = new Set<string>();
    const m = this.metrics;
    c.exec.results.forEach((res, i) => {
      const hex = res.hashHex;
      hashes.push(hex);
      const entry = r.mempool.get(hex);
      if (entry) { signers.add(entry.signer); m?.commitLatency.observe((now - entry.admittedAt) / 1000); }
      else { const s = signerHexOf(c.block.txs[i]!); if (s) signers.add(s); }
      const ws = this.waiters.get(hex);
      if (ws) {
        this.waiters.delete(hex);
        for (const w of ws) w({ status: 'committed', hash: res.hash, height: c.block.header.height, index: i, code: res.code });
      }
    });
    r.mempool.onCommitted(hashes, signers);
    if (m) {
      m.chainHeight.set(c.block.header.height);
      m.txsCommitted.inc(c.block.txs.length);
    }
    const lc = c.block.lastCommit;
    this.liveness?.onBlock(c.block.header.height, toHex(c.block.header.proposer), lc ? commitSigners(lc) : null, livenessSet(r.tip.lastValidators), livenessSet(r.tip.validators));
    for (const k of c.exec.writes.keys()) {
      if (k.startsWith('node/') || k.startsWith('member/')) { this.refreshAllowed(); break; }
    }
    r.sync.announce();
    const ev: NewBlockEvent = { height: c.block.header.height, hash: c.hash, time: c.block.header.time, txs: c.exec.results.map((x) => x.hash) };
    for (const l of this.listeners) { try { l(ev); } catch { /* a listener must not break the node */ } }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const r = this.run;
    if (this.storageTimer) clearInterval(this.storageTimer);
    if (r) {
      r.pruner?.stop();
      r.sync.stop();
      r.engine.stop();
      r.gossip.stop();
      r.ingest.stop();
      await r.network.close();
      await r.engine.serialize(async () => undefined); // let an in-flight commit finish
      r.privval.close();
    }
    await this.store.close();
  }

  // ------------------------------------------------------------------ NodeApiBackend

  identity(): NodeIdentity {
    return { publicKey: this.key.publicKey, proofOfPossession: this.popSig, role: this.config.role, chainId: this.config.chainId };
  }

  async installGenesis(sealed: SealedGenesis): Promise<void> {
    if (this.run) throw new ConsortiaError(ChainNodeCodes.GENESIS_ALREADY_SET, 'genesis already installed');
    // Only the genesis this node was provisioned for (chain id, founders, itself listed, or the pinned hash).
    checkProvisionedGenesis(sealed, this.config, this.key.publicKey);
    verifySealedGenesis(sealed);
    const json = JSON.stringify(sealedGenesisToJSON(sealed));
    writeDurably(join(this.config.dataDir, 'genesis.json'), json);
    await this.store.putGenesisJson(json);
    await this.startChain(sealed);
  }

  genesis(): SealedGenesis | null { return this.run?.sealed ?? null; }

  private need(): Running {
    if (!this.run) throw new ConsortiaError(ChainNodeCodes.AWAITING_GENESIS, 'node is awaiting genesis');
    return this.run;
  }

  async submitTx(encodedTx: Uint8Array, opts: SubmitTxOptions): Promise<TxSubmitResult> {
    const r = this.need();
    const { hash, hex } = txIdShared(encodedTx);
    const loc = await this.store.getTx(hex);
    if (loc) return { status: 'committed', hash, height: loc.height, index: loc.index, code: loc.code };
    const res = r.mempool.add(encodedTx, null);
    if (!res.ok) {
      // Idempotent by hash: a tx committed since the lookup above gets the same answer as any resubmission of it.
      const now = res.code === MempoolReasons.BAD_NONCE ? await this.store.getTx(hex) : null;
      if (now) return { status: 'committed', hash, height: now.height, index: now.index, code: now.code };
      throw new ConsortiaError(res.code, res.message, { hash: hex });
    }
    if (opts.wait !== 'commit') return { status: 'accepted', hash };
    return new Promise<TxSubmitResult>((resolve) => {
      let set = this.waiters.get(hex);
      if (!set) { set = new Set(); this.waiters.set(hex, set); }
      const w: Waiter = (x) => { clearTimeout(t); resolve(x); };
      const t = setTimeout(() => {
        set!.delete(w);
        if (set!.size === 0) this.waiters.delete(hex);
        resolve({ status: 'accepted', hash });
      }, Math.max(0, opts.timeoutMs));
      set.add(w);
    });
  }

  async submitTxBatch(encodedTxs: Uint8Array[]): Promise<TxBatchItemResult[]> {
    const r = this.need();
    const out: TxBatchItemResult[] = encodedTxs.map((b) => {
      const res = r.mempool.add(b, null);
      return res.ok ? { status: 'accepted', hash: res.entry.hash } : { status: 'rejected', hash: res.hash, code: res.code, message: res.message };
    });
    // Idempotent by hash: resubmitting a committed tx is not an error (POST /v1/txs answers it 200 'committed').
    for (const [i, o] of out.entries()) {
      if (o.status === 'rejected' && o.code === MempoolReasons.BAD_NONCE && o.hash && (await this.store.getTx(toHex(o.hash)))) out[i] = { status: 'accepted', hash: o.hash };
    }
    return out;
  }

  async getTx(hash: Hash): Promise<TxLookup | null> {
    this.need();
    const loc = await this.store.getTx(toHex(hash));
    if (!loc) {
      const lowest = this.store.lowestHeight();
      if (lowest > 1) throw this.pruned(`tx ${toHex(hash)} is not in the retained heights; it may be in a pruned block`);
      return null;
    }
    const block = await this.getBlock(loc.height);
    if (!block) return null;
    const tx = block.txs[loc.index]!;
    const p = merkleProof(block.txs, loc.index);
    return { hash, height: loc.height, index: loc.index, code: loc.code, tx, proof: { txRoot: block.header.txRoot, leafIndex: p.index, treeSize: p.total, path: p.path } };
  }

  latestHeight(): number { return this.run?.tip.height ?? 0; }

  private pruned(what: string): ConsortiaError {
    const lowestHeight = this.store.lowestHeight();
    return new ConsortiaError(ChainNodeCodes.PRUNED, `${what} (this ${this.config.role} node keeps heights >= ${lowestHeight}); ask a super node`, {
      lowestHeight, hint: 'super nodes keep all history',
    });
  }

  async getBlock(height: number): Promise<Block | null> {
    if (!this.run || height < 1 || height > this.run.tip.height) return null;
    if (height < this.store.lowestHeight()) throw this.pruned(`block ${height} was pruned`);
    const b = await this.store.getBlockBytes(height);
    return b ? decodeBlock(b) : null;
  }
  async getHeader(height: number): Promise<BlockHeader | null> { return (await this.getBlock(height))?.header ?? null; }
  async getCommit(height: number): Promise<CommitCertificate | null> {
    if (!this.run || height < 1 || height > this.run.tip.height) return null;
    if (height < this.store.lowestHeight()) throw this.pruned(`commit ${height} was pruned`);
    const c = await this.store.getCommitBytes(height);
    return c ? decodeCommit(c) : null;
  }

  private proven(key: string): ProvenValue {
    const s = this.need().tip.state;
    return { key, value: s.get(key) ?? null, proof: s.prove(key) };
  }

  async getAccount(publicKey: Uint8Array): Promise<AccountLookup> {
    const r = this.need();
    const s = r.tip.state;
    const key = StateKeys.account(publicKey);
    const raw = s.get(key);
    const balances = getBalances(s, publicKey);
    return {
      height: r.tip.height,
      stateRoot: s.root(),
      account: raw ? { publicKey: toHex(publicKey), nonce: decodeAccount(raw).nonce } : null,
      balances,
      proofs: [this.proven(key), ...balances.map((b) => this.proven(StateKeys.balance(publicKey, b.asset)))],
    };
  }

  private lookup(key: string, decode: (b: Uint8Array) => Record<string, unknown>): StateLookup {
    const r = this.need();
    const p = this.proven(key);
    return { height: r.tip.height, stateRoot: r.tip.state.root(), value: p.value ? decode(p.value) : null, proof: p };
  }
  async getAsset(assetId: string): Promise<StateLookup> {
    return this.lookup(StateKeys.asset(assetId), (b) => { const a = decodeAsset(b); return { id: assetId, issuer: a.issuer, supply: a.supply }; });
  }
  async getAnchor(hash: Hash): Promise<StateLookup> {
    return this.lookup(StateKeys.anchor(hash), (b) => ({ hash, ...decodeAnchor(b) }));
  }

  // ------------------------------------------------------------------ tiered storage (docs/storage-tiers.md)

  private storageStatus(): StorageStatus {
    const h = this.run?.tip.height ?? 0;
    return { lowestHeight: h > 0 ? this.store.lowestHeight() : 0, highestHeight: h, bytes: this.diskBytes };
  }

  /** Disk usage is a directory walk: refreshed off the request path, every 2 s. */
  private startStorageStats(): void {
    const dir = join(this.config.dataDir, 'chain');
    const refresh = async (): Promise<void> => {
      this.diskBytes = diskUsage(dir);
      const m = this.metrics;
      if (!m) return;
      m.storageBytes.set({ kind: 'total' }, this.diskBytes);
      for (const [kind, ranges] of Object.entries(KIND_RANGES)) m.storageBytes.set({ kind }, await this.store.approximateBytes(ranges));
      m.storageRetainedLowestHeight.set(this.store.lowestHeight());
    };
    void refresh().catch(() => undefined);
    this.storageTimer = setInterval(() => { void refresh().catch(() => undefined); }, 2_000);
    this.storageTimer.unref();
  }

  async getHeaders(from: number, count: number): Promise<HeaderWithCommit[]> {
    const r = this.need();
    if (from < this.store.lowestHeight()) throw this.pruned(`headers from ${from} were pruned`);
    const out: HeaderWithCommit[] = [];
    for (let h = from; h < from + Math.min(count, 500) && h <= r.tip.height; h++) {
      const [b, c] = [await this.store.getBlockBytes(h), await this.store.getCommitBytes(h)];
      if (!b || !c) break;
      out.push({ height: h, header: encodeHeader(decodeBlock(b).header), commit: c });
    }
    return out;
  }

  async getAccountTxs(publicKey: Uint8Array, fromHeight: number, limit: number, fromIndex = 0): Promise<{ lowestHeight: number; txs: TxLookup[] }> {
    this.need();
    const lowestHeight = this.store.lowestHeight();
    const acct = toHex(publicKey);
    const start = fromHeight >= lowestHeight ? StoreKeys.accountTx(acct, fromHeight, fromIndex) : `a/${acct}/${hkey(lowestHeight)}`;
    const rows = await this.store.scan(start, `a/${acct}0`, Math.min(limit, 1000));
    const blocks = new Map<number, Block>();
    const txs: TxLookup[] = [];
    for (const [k, v] of rows) {
      const parts = k.split('/');
      const height = Number(parts[2]);
      const index = Number(parts[3]);
      let block = blocks.get(height);
      if (!block) {
        const bytes = await this.store.getBlockBytes(height);
        if (!bytes) continue; // pruned meanwhile
        block = decodeBlock(bytes);
        blocks.set(height, block);
      }
      const loc = await this.store.getTx(toHex(v));
      const p = merkleProof(block.txs, index);
      txs.push({ hash: v, height, index, code: loc?.code ?? 'OK', tx: block.txs[index]!, proof: { txRoot: block.header.txRoot, leafIndex: p.index, treeSize: p.total, path: p.path } });
    }
    return { lowestHeight, txs };
  }

  async getAccountAt(publicKey: Uint8Array, height: number): Promise<AccountLookup> {
    const r = this.need();
    if (height === r.tip.height) return this.getAccount(publicKey);
    if (height > r.tip.height || height < 1) throw new ConsortiaError(ChainNodeCodes.NOT_FOUND, `height ${height} not committed`);
    if (!this.history) {
      throw new ConsortiaError(ChainNodeCodes.PRUNED, `state at height ${height} is not kept by this ${this.config.role} node (current state only); ask a super node`, {
        lowestHeight: r.tip.height, hint: 'super nodes keep all history',
      });
    }
    const { state, stateRoot } = await this.history.stateAt(height);
    return this.accountIn(state, publicKey, height, stateRoot);
  }

  private accountIn(s: WorldState, publicKey: Uint8Array, height: number, stateRoot: Hash): AccountLookup {
    const key = StateKeys.account(publicKey);
    const raw = s.get(key);
    const balances = balancesOf(s, publicKey);
    const proven = (k: string): ProvenValue => ({ key: k, value: s.get(k) ?? null, proof: s.prove(k) });
    return {
      height, stateRoot,
      account: raw ? { publicKey: toHex(publicKey), nonce: decodeAccount(raw).nonce } : null,
      balances,
      proofs: [proven(key), ...balances.map((b) => proven(StateKeys.balance(publicKey, b.asset)))],
    };
  }

  async getEpoch(height: number): Promise<unknown | null> {
    this.need();
    const rows = await this.store.scan(StoreKeys.epoch(height), StoreKeys.epoch(height + 1), 1);
    return rows[0] ? epochToJSON(rows[0][1]) : null;
  }

  async getSnapshot(): Promise<StateSnapshot> {
    const r = this.need();
    // state and height are read in one synchronous step, so they agree
    const height = r.tip.height;
    const entries: [string, Uint8Array][] = [...r.tip.state.entries()];
    if (height < 1) throw new ConsortiaError(ChainNodeCodes.NOT_FOUND, 'no block committed yet');
    const [block, commit] = [await this.store.getBlockBytes(height), await this.store.getCommitBytes(height)];
    if (!block || !commit) throw new ConsortiaError(ChainNodeCodes.NOT_FOUND, `block ${height} not available for a snapshot`);
    const epochs = (await this.store.scan('e/', StoreKeys.epoch(height + 1))).map(([, v]) => epochToJSON(v));
    return { height, block, commit, epochs, entries };
  }

  status(): NodeStatus & { p2pAddress?: string } {
    const r = this.run;
    const addr = r?.network.address();
    return {
      chainId: this.config.chainId,
      role: this.config.role,
      nodeKey: this.key.publicKey,
      genesisInstalled: r !== null,
      height: r?.tip.height ?? 0,
      latestBlockHash: r && r.tip.height > 0 ? r.tip.headHash : null,
      latestBlockTime: r && r.tip.height > 0 ? r.tip.headTime : null,
      validators: r?.tip.validators ?? [],
      peers: r ? r.network.connectedPeers().map((p) => ({ publicKey: Buffer.from(p.publicKey, 'hex'), address: p.address })) : [],
      syncing: r?.sync.syncing ?? false,
      lowestHeight: r && r.tip.height > 0 ? this.store.lowestHeight() : 0,
      mempool: { txs: r?.mempool.size ?? 0, bytes: r?.mempool.sizeBytes ?? 0 },
      storage: this.storageStatus(),
      ...(addr ? { p2pAddress: `${addr.host}:${addr.port}` } : {}),
    };
  }

  subscribe(listener: (event: NewBlockEvent) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  health(): HealthReport { return { ok: !this.closed, details: { uptimeMs: Date.now() - this.startedAt } }; }

  readiness(): ReadinessReport {
    if (!this.run) return { ready: false, reason: 'awaiting genesis' };
    if (this.run.sync.syncing) return { ready: false, reason: 'syncing' };
    return { ready: true };
  }
}
