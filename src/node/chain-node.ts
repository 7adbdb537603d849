import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Block,
  type BlockHeader,
  type CommitCertificate,
  type Hash,
  type SealedGenesis,
  StateKeys,
  fromHex,
  sealedGenesisToJSON,
  toHex,
  txIdShared,
  verifySealedGenesis,
} from '../chain/index.js';
import { ConsortiaError } from '../lib/errors.js';
import type { Logger } from '../lib/logging.js';
import {
  assembleChain,
  createHistory,
  openStore,
  restoreSnapshot,
  type ChainSubsystems,
  type NodeContext,
} from './assembly.js';
import { ChainNodeCodes } from './chain-node-codes.js';
import { ChainQueries } from './chain-queries.js';
import { applyCommitEffects } from './commit-effects.js';
import type { NodeConfig } from './config.js';
import { checkProvisionedGenesis, startupGenesis } from './genesis-policy.js';
import { ConsensusKeys } from './consensus-keys.js';
import { openNodeKey, proofOfPossessionWith } from './node-key.js';
import { MempoolReasons } from './mempool/index.js';
import type { NodeMetrics } from './metrics.js';
import type {
  AccountLookup,
  BlockResult,
  ConsensusKeyView,
  HeaderWithCommit,
  HealthReport,
  NewBlockEvent,
  NodeApiBackend,
  NodeIdentity,
  NodeStatus,
  ReadinessReport,
  StateLookup,
  StateSnapshot,
  SubmitTxOptions,
  TxBatchItemResult,
  TxLookup,
  TxRoom,
  TxSubmitResult,
} from './rpc/backend.js';
import { seedLiveness } from './validator-liveness.js';
import { type ChainStore, writeDurably } from './store/index.js';
import { SubmitWaiters } from './submit-waiters.js';

export { ChainNodeCodes } from './chain-node-codes.js';
export { DEFAULT_ORDINARY_RETENTION_BLOCKS, retentionOf } from './assembly.js';

/**
 * The chain node behind the NodeApiBackend seam the HTTP API uses: its subsystems are built by
 * assembly.ts, reads are served by chain-queries.ts, and this class owns their lifecycle (the
 * order they start and stop in) plus tx submission. Without a genesis it runs in awaiting-genesis
 * mode (identity only) until installGenesis() verifies, persists and starts the chain.
 */
export class ChainNode implements NodeApiBackend {
  private run: ChainSubsystems | null = null;
  private readonly listeners = new Set<(e: NewBlockEvent) => void>();
  private readonly waiters = new SubmitWaiters();
  private readonly popSig: Uint8Array;
  private readonly queries: ChainQueries;
  private closed = false;
  private readonly startedAt = Date.now();

  private constructor(
    private readonly ctx: NodeContext,
    private readonly store: ChainStore,
    popSig: Uint8Array,
  ) {
    const { config } = ctx;
    this.popSig = popSig;
    this.queries = new ChainQueries({
      store,
      role: config.role,
      history: createHistory(config, store),
      tip: () => this.run?.tip ?? null,
    });
  }

  static async open(config: NodeConfig, deps: { logger: Logger; metrics?: NodeMetrics }): Promise<ChainNode> {
    mkdirSync(config.dataDir, { recursive: true });
    const { key: nodeKey } = await openNodeKey(config.keyFile, config.key, process.env);
    const popSig = await proofOfPossessionWith(nodeKey, config.chainId);
    const keyPair = { publicKey: nodeKey.publicKey };
    const consensusKeys = ConsensusKeys.open(config.dataDir, nodeKey, config.key, process.env);
    const ctx: NodeContext = { config, key: nodeKey, consensusKeys, logger: deps.logger, metrics: deps.metrics };
    const store = await openStore(config);
    const node = new ChainNode(ctx, store, popSig);
    let sealed: SealedGenesis | undefined;
    try {
      // The stored genesis never silently wins over the configured one: a difference is fatal (GENESIS_MISMATCH).
      sealed = startupGenesis(
        {
          stored: (await store.getGenesisJson()) ?? undefined,
          configured: config.genesisFile ? readFileSync(config.genesisFile, 'utf8') : undefined,
          configuredFrom: config.genesisFile,
        },
        config,
        keyPair.publicKey,
      );
      if (sealed) verifySealedGenesis(sealed);
    } catch (err) {
      await store.close().catch(() => undefined); // the genesis error is the one to report
      throw err;
    }
    if (sealed) {
      await store.putGenesisJson(JSON.stringify(sealedGenesisToJSON(sealed)));
      await restoreSnapshot(ctx, sealed, store);
      await node.startChain(sealed);
    } else {
      deps.logger.info('awaiting genesis (PUT /v1/genesis)');
    }
    return node;
  }

  // ------------------------------------------------------------------ lifecycle

  private async startChain(sealed: SealedGenesis): Promise<void> {
    const { logger, metrics, key } = this.ctx;
    const r = await assembleChain(this.ctx, sealed, this.store, (c) => {
      if (this.run) applyCommitEffects(c, { sub: this.run, waiters: this.waiters, metrics, listeners: this.listeners });
      if (c.exec.writes.has(StateKeys.valset)) this.followConsensusKey(); // the validator set changed
    });
    this.run = r;
    r.pruner?.start();
    r.storage.start();
    metrics?.chainHeight.set(r.tip.height);
    if (r.liveness) await seedLiveness(r.liveness, this.store, r.tip);
    await r.network.start();
    await r.engine.start(this.store);
    r.sync.start();
    const selfHex = toHex(key.publicKey);
    const consensusKey = this.ctx.consensusKeys?.activeKey ?? selfHex;
    logger.info('chain started', {
      height: r.tip.height,
      nodeKey: selfHex,
      consensusKey,
      validator: r.tip.validators.some((v) => toHex(v.publicKey) === consensusKey),
    });
  }

  /**
   * After a block that changed the validator set: if the set of the next height holds another of
   * this node's keys (a rotate_validator_key executed), the engine is replaced by one that signs
   * as that key. The engine's identity is fixed when it is built (src/node/engine/engine.ts), so
   * the old one is stopped and drained first; heights up to the switch were signed with the old
   * key, the next one is signed with the new key, and the one double-sign record covers both.
   */
  private followConsensusKey(): void {
    const keys = this.ctx.consensusKeys;
    const r = this.run;
    if (keys === undefined || r === null || this.closed) return;
    const want = toHex(keys.select(r.tip.validators).publicKey);
    if (want === keys.activeKey || this.switching !== null) return;
    // not from inside the commit callback: the switch waits for that commit to finish
    this.switching = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.switchConsensusKey(want))
      .then(
        () => {
          this.switching = null;
          this.followConsensusKey(); // a set that changed again meanwhile
        },
        (err) => {
          // retried at the next validator-set change or restart, never in a loop
          this.switching = null;
          this.ctx.logger.error('consensus key switch failed', { err: (err as Error).message });
        },
      );
  }
  private switching: Promise<void> | null = null;

  private async switchConsensusKey(want: string): Promise<void> {
    const keys = this.ctx.consensusKeys!;
    const r = this.run;
    if (r === null || this.closed) return;
    const old = r.engine;
    old.stop();
    // The new engine's first commit waits for the old engine's queue (a commit in flight).
    const engine = r.engineAs(keys.signer(want).publicKey);
    r.sync.useEngine(engine);
    await engine.serialize(() => old.serialize(async () => undefined));
    if (this.closed) return;
    const from = r.tip.height + 1;
    keys.activate(toHex(keys.select(r.tip.validators).publicKey), from);
    r.engine = engine;
    await engine.start(this.store);
    r.router.attach({ engine, sync: r.sync, ingest: r.ingest });
    for (const p of r.network.connectedPeers()) engine.onPeerUp(p.publicKey);
    this.ctx.logger.info('consensus key switched', { fromHeight: from, consensusKey: keys.activeKey });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const r = this.run;
    if (r) {
      r.storage.stop();
      r.pruner?.stop();
      r.sync.stop();
      r.engine.stop();
      r.gossip.stop();
      r.ingest.stop();
      await r.network.close();
      await r.engine.serialize(async () => undefined); // let an in-flight commit finish
      await r.verifyPool?.close(); // its threads would keep the process alive
      r.privval.close();
    }
    await this.store.close();
    this.ctx.consensusKeys?.close();
    this.ctx.key.close();
  }

  async installGenesis(sealed: SealedGenesis): Promise<void> {
    const { config, key } = this.ctx;
    if (this.run) throw new ConsortiaError(ChainNodeCodes.GENESIS_ALREADY_SET, 'genesis already installed');
    // Only the genesis this node was provisioned for (chain id, founders, itself listed, or the pinned hash).
    checkProvisionedGenesis(sealed, config, key.publicKey);
    verifySealedGenesis(sealed);
    const json = JSON.stringify(sealedGenesisToJSON(sealed));
    writeDurably(join(config.dataDir, 'genesis.json'), json);
    await this.store.putGenesisJson(json);
    await this.startChain(sealed);
  }

  health(): HealthReport {
    return { ok: !this.closed, details: { uptimeMs: Date.now() - this.startedAt } };
  }

  readiness(): ReadinessReport {
    if (!this.run) return { ready: false, reason: 'awaiting genesis' };
    if (this.run.sync.syncing) return { ready: false, reason: 'syncing' };
    return { ready: true };
  }

  // ------------------------------------------------------------------ identity, status, events

  identity(): NodeIdentity {
    const { config, key } = this.ctx;
    return { publicKey: key.publicKey, proofOfPossession: this.popSig, role: config.role, chainId: config.chainId };
  }

  genesis(): SealedGenesis | null {
    return this.run?.sealed ?? null;
  }

  prepareConsensusKey(): {
    publicKey: Uint8Array;
    proofOfPossession: Uint8Array;
    created: boolean;
    currentKey: Uint8Array;
  } {
    const keys = this.ctx.consensusKeys!;
    const current = keys.signer(keys.activeKey).publicKey;
    const p = keys.prepare(this.ctx.config.chainId);
    this.ctx.logger.info('consensus key prepared', { publicKey: toHex(p.publicKey), created: p.created });
    return { ...p, currentKey: current };
  }

  consensusKeys(): ConsensusKeyView[] {
    return this.ctx.consensusKeys!.list(this.run?.tip.validators ?? []);
  }

  status(): NodeStatus & { p2pAddress?: string } {
    const { config, key } = this.ctx;
    const r = this.run;
    const addr = r?.network.address();
    const height = r?.tip.height ?? 0;
    const lowestHeight = height > 0 ? this.store.lowestHeight() : 0;
    return {
      chainId: config.chainId,
      role: config.role,
      nodeKey: key.publicKey,
      ...(this.ctx.consensusKeys ? { consensusKey: fromHex(this.ctx.consensusKeys.activeKey, 32) } : {}),
      genesisInstalled: r !== null,
      height,
      latestBlockHash: r && height > 0 ? r.tip.headHash : null,
      latestBlockTime: r && height > 0 ? r.tip.headTime : null,
      validators: r?.tip.validators ?? [],
      peers: r
        ? r.network.connectedPeers().map((p) => ({ publicKey: Buffer.from(p.publicKey, 'hex'), address: p.address }))
        : [],
      syncing: r?.sync.syncing ?? false,
      lowestHeight,
      mempool: { txs: r?.mempool.size ?? 0, bytes: r?.mempool.sizeBytes ?? 0 },
      storage: { lowestHeight, highestHeight: height, bytes: r?.storage.bytes ?? 0 },
      ...(addr ? { p2pAddress: `${addr.host}:${addr.port}` } : {}),
    };
  }

  subscribe(listener: (event: NewBlockEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  // ------------------------------------------------------------------ tx submission

  private need(): ChainSubsystems {
    if (!this.run) throw new ConsortiaError(ChainNodeCodes.AWAITING_GENESIS, 'node is awaiting genesis');
    return this.run;
  }

  async submitTx(encodedTx: Uint8Array, opts: SubmitTxOptions): Promise<TxSubmitResult> {
    const r = this.need();
    const { hash, hex } = txIdShared(encodedTx);
    const loc = await this.store.getTx(hex);
    if (loc) return { status: 'committed', hash, height: loc.height, index: loc.index, code: loc.code };
    if (!r.mempool.has(hex)) this.shedUnlessRoom(1);
    const res = await r.mempool.addAsync(encodedTx, null); // its signature verified in the verify pool
    if (!res.ok) {
      // Idempotent by hash: a tx committed since the lookup above gets the same answer as any resubmission of it.
      const now = res.code === MempoolReasons.BAD_NONCE ? await this.store.getTx(hex) : null;
      if (now) return { status: 'committed', hash, height: now.height, index: now.index, code: now.code };
      // A tx refused while the node sheds load gets the same Retry-After as the gate's own refusals.
      const retryAfterSeconds = res.code === MempoolReasons.MEMPOOL_BUSY ? (r.gate.shedding() ?? 1) : undefined;
      throw new ConsortiaError(res.code, res.message, {
        hash: hex,
        ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
      });
    }
    if (opts.wait !== 'commit') return { status: 'accepted', hash };
    return this.waiters.wait(hash, hex, opts.timeoutMs);
  }

  verifiesOffThread(): boolean {
    return this.run?.mempool.verifiesOffThread ?? false;
  }

  takeTxRoom(wanted: number, queuedTxs: number): TxRoom {
    const r = this.need();
    const g = r.gate.room(r.mempool.executableSize + r.ingest.size + queuedTxs, wanted);
    const granted = Math.min(wanted, g.room);
    if (granted < wanted)
      this.ctx.metrics?.mempoolRejections.inc({ reason: ChainNodeCodes.MEMPOOL_BUSY }, wanted - granted);
    return { granted, bound: g.bound, retryAfterSeconds: g.retryAfterSeconds };
  }

  shedQueuedTxs(n: number): number {
    const r = this.need();
    this.ctx.metrics?.mempoolRejections.inc({ reason: ChainNodeCodes.MEMPOOL_BUSY }, n);
    return r.gate.refuse(n);
  }

  sheddingLoad(): boolean {
    return this.need().gate.shedding() !== null;
  }

  /** Throws 429 MEMPOOL_BUSY (with Retry-After) unless `n` more txs may be taken now. */
  private shedUnlessRoom(n: number): void {
    const t = this.takeTxRoom(n, 0);
    if (t.granted >= n) return;
    throw new ConsortiaError(
      ChainNodeCodes.MEMPOOL_BUSY,
      `the chain is committing less than it is offered (${t.bound} txs may be pending); retry in ${t.retryAfterSeconds} s`,
      { bound: t.bound, unit: 'pending txs', retryAfterSeconds: t.retryAfterSeconds },
    );
  }

  async submitTxBatch(encodedTxs: Uint8Array[]): Promise<TxBatchItemResult[]> {
    const r = this.need();
    const admitted = await r.mempool.admitMany(encodedTxs.map((bytes) => ({ bytes, fromPeer: null })));
    // a tx refused while the node sheds load comes back when the gate says (its Retry-After)
    const busy = (code: string) =>
      code === MempoolReasons.MEMPOOL_BUSY ? { retryAfterSeconds: r.gate.shedding() ?? 1 } : {};
    const out: TxBatchItemResult[] = admitted.map((res) => {
      return res.ok
        ? { status: 'accepted', hash: res.entry.hash }
        : { status: 'rejected', hash: res.hash, code: res.code, message: res.message, ...busy(res.code) };
    });
    // Idempotent by hash: resubmitting a committed tx is not an error (POST /v1/txs answers it 200 'committed').
    for (const [i, o] of out.entries()) {
      if (
        o.status === 'rejected' &&
        o.code === MempoolReasons.BAD_NONCE &&
        o.hash &&
        (await this.store.getTx(toHex(o.hash)))
      )
        out[i] = { status: 'accepted', hash: o.hash };
    }
    return out;
  }

  // ------------------------------------------------------------------ reads (chain-queries.ts)

  latestHeight(): number {
    return this.queries.latestHeight();
  }
  getTx(hash: Hash): Promise<TxLookup | null> {
    return this.queries.getTx(hash);
  }
  getBlock(height: number): Promise<Block | null> {
    return this.queries.getBlock(height);
  }
  getHeader(height: number): Promise<BlockHeader | null> {
    return this.queries.getHeader(height);
  }
  getBlockResults(height: number): Promise<BlockResult[] | null> {
    return this.queries.getBlockResults(height);
  }
  getCommit(height: number): Promise<CommitCertificate | null> {
    return this.queries.getCommit(height);
  }
  getHeaders(from: number, count: number): Promise<HeaderWithCommit[]> {
    return this.queries.getHeaders(from, count);
  }
  getAccount(publicKey: Uint8Array): Promise<AccountLookup> {
    return this.queries.getAccount(publicKey);
  }
  getAccountAt(publicKey: Uint8Array, height: number): Promise<AccountLookup> {
    return this.queries.getAccountAt(publicKey, height);
  }
  getAccountTxs(
    publicKey: Uint8Array,
    fromHeight: number,
    limit: number,
    fromIndex = 0,
  ): Promise<{ lowestHeight: number; txs: TxLookup[] }> {
    return this.queries.getAccountTxs(publicKey, fromHeight, limit, fromIndex);
  }
  getAsset(assetId: string): Promise<StateLookup> {
    return this.queries.getAsset(assetId);
  }
  getAnchor(hash: Hash): Promise<StateLookup> {
    return this.queries.getAnchor(hash);
  }
  getEpoch(height: number): Promise<unknown | null> {
    return this.queries.getEpoch(height);
  }
  getSnapshot(): Promise<StateSnapshot> {
    return this.queries.getSnapshot();
  }
}
