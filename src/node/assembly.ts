/**
 * The chain node's composition root: one function per subsystem, each taking the configuration
 * and the subsystems it depends on and returning its own, called in dependency order by
 * assembleChain(). Nothing here starts anything: ChainNode (chain-node.ts) owns start and stop.
 */
import { join } from 'node:path';
import {
  type SealedGenesis,
  type Tx,
  StateKeys,
  decodeAccount,
  decodeTxShared,
  getMembers,
  pkHexOf,
  toHex,
  txIdShared,
  verifyEncodedTxSignature,
} from '../chain/index.js';
import type { Logger } from '../lib/logging.js';
import { parseHostPort, type NodeConfig } from './config.js';
import { ChainTip, ConsensusEngine, chainOps, type Outbox } from './engine/index.js';
import type { EngineOptions } from './engine/index.js';
import { StateHistory } from './history/index.js';
import {
  BacklogGate,
  GossipBatcher,
  INGEST_SLICE_MS,
  IngestQueue,
  MEMPOOL_BACKLOG_FLOOR_TXS,
  MEMPOOL_BACKLOG_TARGET_MS,
  Mempool,
  MempoolReasons,
  decodeTxBatch,
  type MempoolChain,
} from './mempool/index.js';
import type { NodeMetrics } from './metrics.js';
import type { ConsensusKeys } from './consensus-keys.js';
import type { NodeKey, NodeSigner } from './node-key.js';
import { P2PNetwork } from './p2p/index.js';
import { Pruner, type RetentionPolicy } from './retention/index.js';
import { bootstrapFromSnapshot } from './snapshot/index.js';
import { StorageStats } from './storage-stats.js';
import { ChainStore, PrivValidator, type PrivSigner } from './store/index.js';
import { BlockSync } from './sync/index.js';
import { ValidatorLiveness } from './validator-liveness.js';
import { VerifyPool, VERIFY_BATCH_TXS_MAX, verifyTxSignatures } from './verify-pool/index.js';

/** Blocks an ordinary node keeps when its configuration sets no retention. */
export const DEFAULT_ORDINARY_RETENTION_BLOCKS = 100_000;
/** LevelDB write buffer of a pruning node: small, so disk usage tracks the retained window. */
export const PRUNING_WRITE_BUFFER_BYTES = 1024 * 1024;

/** What every subsystem function may read: the node's configuration, key and outputs. */
export interface NodeContext {
  config: NodeConfig;
  key: NodeKey;
  /** The validator's consensus keys (node key + rotated ones); without it the node key signs. */
  consensusKeys?: ConsensusKeys;
  logger: Logger;
  metrics: NodeMetrics | undefined;
}

/** The running chain's subsystems, in the order assembleChain() builds them. */
export interface ChainSubsystems {
  sealed: SealedGenesis;
  tip: ChainTip;
  mempool: Mempool<Tx>;
  allowList: AllowList;
  network: P2PNetwork;
  ingest: IngestQueue;
  gossip: GossipBatcher;
  /** Sheds API submissions past the backlog the chain commits in mempool.backlogTargetMs. */
  gate: BacklogGate;
  privval: PrivValidator;
  engine: ConsensusEngine;
  sync: BlockSync;
  pruner: Pruner | null;
  storage: StorageStats;
  /** Per-validator signing liveness from each committed block's lastCommit (metrics only). */
  liveness: ValidatorLiveness | null;
  /** Threads verifying tx signatures (null: verifyWorkers 0, verified on the main thread); closed on stop. */
  verifyPool: VerifyPool | null;
  router: PeerRouter;
  /** A new engine on the same tip, mempool, network and privval, voting as `publicKey` (a consensus key switch). */
  engineAs: (publicKey: Uint8Array) => ConsensusEngine;
}

/** Retention window of a node: ordinary (and validators that opt in) prune; super keeps everything. */
export function retentionOf(cfg: NodeConfig): RetentionPolicy | null {
  if (cfg.role === 'super' || cfg.role === 'light') return null;
  if (cfg.retentionBlocks === undefined && cfg.retentionSeconds === undefined)
    return cfg.role === 'ordinary' ? { blocks: DEFAULT_ORDINARY_RETENTION_BLOCKS } : null;
  return {
    ...(cfg.retentionBlocks !== undefined ? { blocks: cfg.retentionBlocks } : {}),
    ...(cfg.retentionSeconds !== undefined ? { seconds: cfg.retentionSeconds } : {}),
  };
}

export function openStore(cfg: NodeConfig): Promise<ChainStore> {
  return ChainStore.open(
    join(cfg.dataDir, 'chain'),
    retentionOf(cfg) ? { writeBufferSize: PRUNING_WRITE_BUFFER_BYTES } : {},
  );
}

/** Past states for GET /v1/accounts/{key}?height= (super nodes keep every version). */
export function createHistory(cfg: NodeConfig, store: ChainStore): StateHistory | null {
  return cfg.role === 'super' ? new StateHistory(store) : null;
}

/** An empty ordinary node with peers to sync from starts from a verified snapshot instead of block 1. */
export async function restoreSnapshot(ctx: NodeContext, sealed: SealedGenesis, store: ChainStore): Promise<void> {
  const cfg = ctx.config;
  if (cfg.role !== 'ordinary' || store.head() !== null || cfg.syncFrom.length === 0) return;
  const h = await bootstrapFromSnapshot(sealed.genesis, store, cfg.syncFrom, ctx.logger);
  if (h === null) ctx.logger.warn('no valid snapshot from syncFrom; replaying from genesis by block sync');
}

export function loadTip(cfg: NodeConfig, sealed: SealedGenesis, store: ChainStore): Promise<ChainTip> {
  return ChainTip.load(sealed.genesis, store, { history: cfg.role === 'super', accountIndex: true });
}

/** Gossip batches awaiting their verify per pool worker: one running, one queued behind it, so no worker idles between batches. */
export const INGEST_BATCHES_PER_VERIFY_WORKER = 2;

export function createVerifyPool(ctx: NodeContext): VerifyPool | null {
  const n = ctx.config.verifyWorkers;
  return n > 0 ? new VerifyPool({ workers: n, logger: ctx.logger }) : null;
}

export function createMempool(ctx: NodeContext, tip: ChainTip, pool: VerifyPool | null = null): Mempool<Tx> {
  const cfg = ctx.config;
  const chain: MempoolChain<Tx> = {
    chainId: cfg.chainId,
    txId: txIdShared, // shared with execution, like the decode
    decode: (b) => decodeTxShared(b), // the proposer's execution reuses it
    info: (t) => ({ chainId: t.chainId, signerHex: pkHexOf(t.signer), nonce: t.nonce }),
    verifySignature: (t, bytes) => verifyEncodedTxSignature(bytes, t), // against its own encoding: no re-encode
    ...(pool
      ? { verifySignatures: (items, priority, wanted) => verifyTxSignatures(pool, items, priority, wanted) }
      : {}),
    stateNonce: (signerHex) => {
      const v = tip.state.get(StateKeys.accountOfHex(signerHex));
      return v ? decodeAccount(v).nonce : 0;
    },
    check: (t, bytes) => chainOps.check(tip.state, t, bytes.length),
  };
  const params = chainOps.params(tip.state);
  const { txTtlMs, futureNoncesMax, accountMaxTxs, peerMaxTxs } = cfg.mempool; // undefined: the mempool's defaults
  const mempool = new Mempool<Tx>(chain, {
    maxTxs: cfg.mempool.maxTxs,
    maxBytes: cfg.mempool.maxBytes,
    maxTxBytes: Math.min(cfg.maxTxBytes, params.maxTxBytes),
    txTtlMs,
    futureNoncesMax,
    accountMaxTxs,
    peerMaxTxs,
  });
  const m = ctx.metrics;
  mempool.onReject = (code) => m?.mempoolRejections.inc({ reason: code });
  if (m) m.mempoolSource = { size: () => ({ txs: mempool.size, bytes: mempool.sizeBytes }) };
  return mempool;
}

export function createBacklogGate(ctx: NodeContext): BacklogGate {
  const c = ctx.config.mempool;
  return new BacklogGate(
    {
      targetMs: c.backlogTargetMs ?? MEMPOOL_BACKLOG_TARGET_MS,
      floorTxs: c.backlogFloorTxs ?? MEMPOOL_BACKLOG_FLOOR_TXS,
      maxTxs: c.maxTxs,
    },
    () => performance.now(),
  );
}

/** Peers allowed to connect: the registered nodes of the chain's current members. */
export class AllowList {
  private readonly keys = new Set<string>();

  constructor(private readonly tip: ChainTip) {
    this.refresh();
  }

  has(peerKeyHex: string): boolean {
    return this.keys.has(peerKeyHex);
  }

  /** Re-reads the registry from the tip's state (after a block that changed nodes or members). */
  refresh(): void {
    const members = new Set(getMembers(this.tip.state).map((m) => m.memberId));
    this.keys.clear();
    for (const n of chainOps.nodeRegistry(this.tip.state))
      if (members.has(n.memberId)) this.keys.add(toHex(n.publicKey));
  }
}

/** What the network delivers, by the subsystem that handles it. */
export interface PeerRoutes {
  engine: ConsensusEngine;
  sync: BlockSync;
  ingest: IngestQueue;
}

/**
 * Routes what the network delivers (and the engine's sync requests) to the subsystems that talk
 * through it. Those are built after the network, since they send through it, and attached before
 * it starts; so no subsystem function refers to one built after it.
 */
export class PeerRouter {
  private routes: PeerRoutes | null = null;

  attach(routes: PeerRoutes): void {
    this.routes = routes;
  }

  private get r(): PeerRoutes {
    if (!this.routes) throw new Error('peer router used before its subsystems were attached');
    return this.routes;
  }

  onMessage(peer: string, channel: string, payload: Buffer): void {
    if (channel === 'consensus') this.r.engine.onMessage(peer, payload);
    else if (channel === 'sync') this.r.sync.onMessage(peer, payload);
    else this.r.ingest.push(peer, decodeTxBatch(payload));
  }

  onPeerUp(peer: string): void {
    this.r.sync.announce(peer);
    this.r.engine.onPeerUp(peer);
  }

  onPeerDown(peer: string): void {
    this.r.sync.onPeerDown(peer);
    this.r.engine.onPeerDown(peer);
  }

  requestSync(): void {
    this.r.sync.request();
  }
}

export function createNetwork(ctx: NodeContext, allowList: AllowList, router: PeerRouter): P2PNetwork {
  const { config: cfg, metrics: m } = ctx;
  const listen = parseHostPort(cfg.p2pListen);
  const network: P2PNetwork = new P2PNetwork({
    identity: ctx.key.tlsIdentity(),
    listenHost: listen.host,
    listenPort: listen.port,
    ...(cfg.p2pAdvertise !== undefined ? { advertiseHost: parseHostPort(cfg.p2pAdvertise).host } : {}),
    pingIntervalMs: cfg.p2pPingIntervalMs,
    peerTimeoutMs: cfg.p2pPeerTimeoutMs,
    peers: cfg.peers,
    isAllowed: (k) => allowList.has(k),
    logger: ctx.logger,
    countBytes: (dir, channel, n) => (dir === 'sent' ? m?.p2pSentBytes : m?.p2pReceivedBytes)?.inc({ channel }, n),
    countRejected: (channel) => m?.p2pRejectedMessages.inc({ channel }),
    onPeerUp: (peer) => {
      m?.p2pPeers.set(network.connectedPeers().length);
      router.onPeerUp(peer);
    },
    onPeerDown: (peer, reason) => {
      m?.p2pPeers.set(network.connectedPeers().length);
      m?.p2pPeerLost.inc({ reason });
      router.onPeerDown(peer);
    },
    onMessage: (peer, channel, payload) => router.onMessage(peer, channel, payload),
  });
  return network;
}

export function outboxOf(network: P2PNetwork): Outbox {
  return {
    broadcast: (ch, p) => network.broadcast(ch, p),
    send: (peer, ch, p) => {
      network.send(peer, ch, p);
    },
  };
}

/** Gossiped txs are admitted off the receive path, so consensus frames are never queued behind them. */
export function createIngest(
  ctx: NodeContext,
  mempool: Mempool<Tx>,
  network: P2PNetwork,
  pool: VerifyPool | null = null,
): IngestQueue {
  const penalize = (peer: string): void => network.penalize(peer, 'gossiped a tx with a bad signature'); // it verified what it gossips
  return new IngestQueue(
    (bytes, peer) => {
      const r = mempool.add(bytes, peer);
      if (!r.ok && r.code === MempoolReasons.BAD_SIGNATURE) penalize(peer);
    },
    // gossip beyond what the pool can hold is only dropped later, after its decode and verify
    { maxTxs: ctx.config.mempool.maxTxs, sliceMs: INGEST_SLICE_MS },
    (n) => ctx.metrics?.mempoolRejections.inc({ reason: 'GOSSIP_DROPPED' }, n),
    pool && {
      admit: async (items) => {
        const rs = await mempool.admitMany(items.map((it) => ({ bytes: it.bytes, fromPeer: it.peer })));
        for (const [i, r] of rs.entries())
          if (!r.ok && r.code === MempoolReasons.BAD_SIGNATURE) penalize(items[i]!.peer);
      },
      batchTxs: VERIFY_BATCH_TXS_MAX,
      inFlight: pool.size * INGEST_BATCHES_PER_VERIFY_WORKER,
    },
  );
}

/** Txs submitted to this node (not those gossiped to it) are gossiped on in batches. */
export function createGossip(mempool: Mempool<Tx>, network: P2PNetwork): GossipBatcher {
  const gossip = new GossipBatcher((batch) => network.broadcast('mempool', batch));
  mempool.onAdmit = (entry, fromPeer) => {
    if (fromPeer === null) gossip.push(entry.bytes);
  };
  return gossip;
}

export function createPrivValidator(ctx: NodeContext): PrivValidator {
  const dir = ctx.config.dataDir;
  const keys = ctx.consensusKeys;
  if (keys === undefined)
    return new PrivValidator(join(dir, 'privval.state'), privSigner(ctx.key), join(dir, 'privval.json'));
  // One double-sign record for every key: the active key signs, and it changes only between heights.
  // Rotated keys are in the node key's backend, so the active key signs synchronously iff the node key does.
  const active = (): NodeSigner => keys.signer(keys.activeKey);
  return new PrivValidator(
    join(dir, 'privval.state'),
    ctx.key.signSync !== undefined
      ? { signSync: (m) => active().signSync!(m), sign: (m) => active().sign(m) }
      : { sign: (m) => active().sign(m) },
    join(dir, 'privval.json'),
    () => keys.activeKey,
  );
}

/** The node key as privval's signer: inline when it signs synchronously, awaited when it does not (KMS). */
function privSigner(key: NodeKey): PrivSigner {
  const signSync = key.signSync;
  return signSync !== undefined ? (m) => signSync(m) : { sign: (m) => key.sign(m) };
}

/** The public key the engine votes and proposes as: the consensus key active now (src/node/consensus-keys.ts). */
export function consensusPublicKey(ctx: NodeContext): Uint8Array {
  const keys = ctx.consensusKeys;
  return keys === undefined ? ctx.key.publicKey : keys.signer(keys.activeKey).publicKey;
}

export interface EngineDeps {
  tip: ChainTip;
  mempool: Mempool<Tx>;
  out: Outbox;
  privval: PrivValidator;
  router: PeerRouter;
  onCommitted: EngineOptions['onCommitted'];
}

export function createEngine(
  ctx: NodeContext,
  d: EngineDeps,
  publicKey: Uint8Array = consensusPublicKey(ctx),
): ConsensusEngine {
  const c = ctx.config.consensus;
  return new ConsensusEngine({
    tip: d.tip,
    mempool: d.mempool,
    out: d.out,
    privval: d.privval,
    nodePublicKey: publicKey,
    logger: ctx.logger,
    metrics: ctx.metrics,
    timeouts: {
      proposeMs: c.timeoutProposeMs,
      proposeDeltaMs: c.timeoutDeltaMs,
      prevoteMs: c.timeoutPrevoteMs,
      prevoteDeltaMs: c.timeoutDeltaMs,
      precommitMs: c.timeoutPrecommitMs,
      precommitDeltaMs: c.timeoutDeltaMs,
      proposeAbsentMs: c.timeoutProposeAbsentMs, // undefined: the consensus default
    },
    onCommitted: d.onCommitted,
    requestSync: () => d.router.requestSync(),
  });
}

export function createSync(
  ctx: NodeContext,
  tip: ChainTip,
  store: ChainStore,
  engine: ConsensusEngine,
  out: Outbox,
): BlockSync {
  return new BlockSync({ tip, store, engine, out, logger: ctx.logger });
}

export function createPruner(ctx: NodeContext, store: ChainStore): Pruner | null {
  const policy = retentionOf(ctx.config);
  return policy
    ? new Pruner({ store, policy, logger: ctx.logger, ...(ctx.metrics ? { metrics: ctx.metrics } : {}) })
    : null;
}

export function createStorageStats(ctx: NodeContext, store: ChainStore): StorageStats {
  return new StorageStats(join(ctx.config.dataDir, 'chain'), store, ctx.metrics);
}

export function createLiveness(ctx: NodeContext): ValidatorLiveness | null {
  return ctx.metrics ? new ValidatorLiveness(ctx.metrics.validators) : null;
}

/** Builds every subsystem of a chain with genesis `sealed`; starts none. */
export async function assembleChain(
  ctx: NodeContext,
  sealed: SealedGenesis,
  store: ChainStore,
  onCommitted: EngineOptions['onCommitted'],
): Promise<ChainSubsystems> {
  const tip = await loadTip(ctx.config, sealed, store);
  // The key of the height to sign next: after a rotation, even right after a restart, the new one.
  const keys = ctx.consensusKeys;
  if (keys !== undefined) keys.activate(toHex(keys.select(tip.validators).publicKey), tip.height + 1);
  const verifyPool = createVerifyPool(ctx);
  const mempool = createMempool(ctx, tip, verifyPool);
  const allowList = new AllowList(tip);
  const router = new PeerRouter();
  const network = createNetwork(ctx, allowList, router);
  const out = outboxOf(network);
  const ingest = createIngest(ctx, mempool, network, verifyPool);
  const gossip = createGossip(mempool, network);
  const gate = createBacklogGate(ctx);
  mempool.shedding = () => gate.shedding(); // while the gate refuses, so does the pool for txs that cannot execute next
  mempool.onVerifyLate = (n) => gate.refuse(n); // API txs refused for a verify that found no worker in time
  if (ctx.metrics?.mempoolSource) {
    ctx.metrics.mempoolSource.load = () => ({
      executable: mempool.executableSize,
      ingest: ingest.size,
      bound: gate.bound(),
    });
  }
  const privval = createPrivValidator(ctx);
  const engine = createEngine(ctx, { tip, mempool, out, privval, router, onCommitted });
  const sync = createSync(ctx, tip, store, engine, out);
  router.attach({ engine, sync, ingest });
  return {
    sealed,
    tip,
    mempool,
    allowList,
    network,
    ingest,
    gossip,
    gate,
    privval,
    engine,
    sync,
    pruner: createPruner(ctx, store),
    storage: createStorageStats(ctx, store),
    liveness: createLiveness(ctx),
    verifyPool,
    router,
    engineAs: (publicKey) => createEngine(ctx, { tip, mempool, out, privval, router, onCommitted }, publicKey),
  };
}
