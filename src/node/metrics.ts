import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createValidatorMetrics, VALIDATOR_METRIC_NAMES, type ValidatorMetrics } from './validator-liveness.js';

/**
 * Every chain-node metric (docs/operations.md#metrics): consortia_<subsystem>_<name>_<unit>,
 * `_total` only on counters. Created once per process against the given registry and
 * passed down as typed handles; the dashboard/rules test checks names via NODE_METRIC_NAMES.
 */
export const NODE_METRIC_NAMES = [
  'consortia_chain_height',
  'consortia_chain_txs_committed_total',
  'consortia_chain_block_interval_seconds',
  'consortia_chain_commit_latency_seconds',
  'consortia_consensus_rounds_per_height',
  'consortia_consensus_round',
  'consortia_consensus_evidence_total',
  'consortia_mempool_size_txs',
  'consortia_mempool_size_bytes',
  'consortia_mempool_executable_txs',
  'consortia_mempool_ingest_queue_txs',
  'consortia_mempool_admission_bound_txs',
  'consortia_mempool_rejections_total',
  'consortia_p2p_peers',
  'consortia_p2p_sent_bytes_total',
  'consortia_p2p_received_bytes_total',
  'consortia_p2p_rejected_messages_total',
  'consortia_p2p_peer_lost_total',
  'consortia_p2p_quorum_visible',
  'consortia_storage_bytes',
  'consortia_storage_pruned_blocks_total',
  'consortia_storage_retained_lowest_height',
  'consortia_light_verified_headers_total',
  'consortia_light_rejected_proofs_total',
  ...VALIDATOR_METRIC_NAMES,
] as const;
export type NodeMetricName = (typeof NODE_METRIC_NAMES)[number];

/** P2P channels (label `channel`) and storage kinds (label `kind`) used by the node. */
export type P2pChannel = 'consensus' | 'mempool' | 'sync' | 'control';
export type StorageKind = 'blocks' | 'state' | 'index' | 'headers' | 'total';

export interface NodeMetrics {
  /** Height of the latest committed block. */
  chainHeight: Gauge;
  /** Transactions included in committed blocks (any result code). */
  txsCommitted: Counter;
  /** Seconds between consecutive committed block times. */
  blockInterval: Histogram;
  /** Seconds from mempool admission on this node to finality (commit). */
  commitLatency: Histogram;
  /** Rounds needed to commit a height (1 = committed in round 0). */
  roundsPerHeight: Histogram;
  /** Current consensus round at the current height. */
  consensusRound: Gauge;
  /** Equivocation evidence observed/recorded. */
  evidence: Counter;
  mempoolSizeTxs: Gauge;
  mempoolSizeBytes: Gauge;
  mempoolExecutable: Gauge;
  mempoolIngestQueue: Gauge;
  mempoolAdmissionBound: Gauge;
  /** Where the mempool gauges read their values at scrape time (admission is too hot to set them per tx). */
  mempoolSource: {
    size(): { txs: number; bytes: number };
    /** Pending txs not waiting for a missing nonce, gossip waiting for admission, and the load-shedding bound. */
    load?(): { executable: number; ingest: number; bound: number };
  } | null;
  /** Refused admissions by reason (a chain rejection code, MEMPOOL_FULL, DUPLICATE, TX_TOO_LARGE, ...). */
  mempoolRejections: Counter<'reason'>;
  /** Connected, authenticated peers. */
  p2pPeers: Gauge;
  p2pSentBytes: Counter<'channel'>;
  p2pReceivedBytes: Counter<'channel'>;
  p2pRejectedMessages: Counter<'channel'>;
  /** Established peer connections that ended, by reason (timeout = silent past the deadline, closed, error, banned, removed, replaced by a newer one). */
  p2pPeerLost: Counter<'reason'>;
  /** 1 when this node is connected to validators that, with itself if a validator, hold a quorum (> 2/3) of voting power; else 0. */
  p2pQuorumVisible: Gauge;
  /** Approximate on-disk bytes by kind. */
  storageBytes: Gauge<'kind'>;
  storagePrunedBlocks: Counter;
  /** Lowest height whose full block is still retained (pruning nodes). */
  storageRetainedLowestHeight: Gauge;
  /** Light client: headers whose commit certificate verified. */
  lightVerifiedHeaders: Counter;
  /** Light client: proofs (commit/state/inclusion) that failed verification. */
  lightRejectedProofs: Counter;
  /** Per-validator signing liveness and the validator set (validator-liveness.ts). */
  validators: ValidatorMetrics;
}

const LATENCY_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30];
const INTERVAL_BUCKETS = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60];
const ROUND_BUCKETS = [1, 2, 3, 4, 5, 8, 13];

/** Registers every node metric on `registry` (call once per registry). */
export function createNodeMetrics(registry: Registry): NodeMetrics {
  const reg = [registry];
  const m: NodeMetrics = {
    chainHeight: new Gauge({
      name: 'consortia_chain_height',
      help: 'Height of the latest committed block',
      registers: reg,
    }),
    txsCommitted: new Counter({
      name: 'consortia_chain_txs_committed_total',
      help: 'Transactions in committed blocks',
      registers: reg,
    }),
    blockInterval: new Histogram({
      name: 'consortia_chain_block_interval_seconds',
      help: 'Time between consecutive committed blocks (block header times)',
      buckets: INTERVAL_BUCKETS,
      registers: reg,
    }),
    commitLatency: new Histogram({
      name: 'consortia_chain_commit_latency_seconds',
      help: 'Time from mempool admission on this node to block finality',
      buckets: LATENCY_BUCKETS,
      registers: reg,
    }),
    roundsPerHeight: new Histogram({
      name: 'consortia_consensus_rounds_per_height',
      help: 'Consensus rounds needed to commit a height (1 = first round)',
      buckets: ROUND_BUCKETS,
      registers: reg,
    }),
    consensusRound: new Gauge({
      name: 'consortia_consensus_round',
      help: 'Current consensus round at the current height',
      registers: reg,
    }),
    evidence: new Counter({
      name: 'consortia_consensus_evidence_total',
      help: 'Equivocation evidence observed',
      registers: reg,
    }),
    mempoolSizeTxs: new Gauge({
      name: 'consortia_mempool_size_txs',
      help: 'Pending transactions in the mempool',
      registers: reg,
      collect() {
        const s = m.mempoolSource?.size();
        if (s) this.set(s.txs);
      },
    }),
    mempoolSizeBytes: new Gauge({
      name: 'consortia_mempool_size_bytes',
      help: 'Bytes of pending transactions in the mempool',
      registers: reg,
      collect() {
        const s = m.mempoolSource?.size();
        if (s) this.set(s.bytes);
      },
    }),
    mempoolExecutable: new Gauge({
      name: 'consortia_mempool_executable_txs',
      help: 'Pending transactions a block could take (not waiting for a missing nonce)',
      registers: reg,
      collect() {
        const l = m.mempoolSource?.load?.();
        if (l) this.set(l.executable);
      },
    }),
    mempoolIngestQueue: new Gauge({
      name: 'consortia_mempool_ingest_queue_txs',
      help: 'Gossiped transactions waiting for admission',
      registers: reg,
      collect() {
        const l = m.mempoolSource?.load?.();
        if (l) this.set(l.ingest);
      },
    }),
    mempoolAdmissionBound: new Gauge({
      name: 'consortia_mempool_admission_bound_txs',
      help: 'Pending transactions above which API submissions are refused (MEMPOOL_BUSY): mempool.backlogTargetMs of the committed rate',
      registers: reg,
      collect() {
        const l = m.mempoolSource?.load?.();
        if (l) this.set(l.bound);
      },
    }),
    mempoolSource: null,
    mempoolRejections: new Counter({
      name: 'consortia_mempool_rejections_total',
      help: 'Transactions refused at admission, by reason',
      labelNames: ['reason'] as const,
      registers: reg,
    }),
    p2pPeers: new Gauge({ name: 'consortia_p2p_peers', help: 'Connected authenticated peers', registers: reg }),
    p2pSentBytes: new Counter({
      name: 'consortia_p2p_sent_bytes_total',
      help: 'Bytes sent to peers, by channel',
      labelNames: ['channel'] as const,
      registers: reg,
    }),
    p2pReceivedBytes: new Counter({
      name: 'consortia_p2p_received_bytes_total',
      help: 'Bytes received from peers, by channel',
      labelNames: ['channel'] as const,
      registers: reg,
    }),
    p2pRejectedMessages: new Counter({
      name: 'consortia_p2p_rejected_messages_total',
      help: 'Messages from peers that were malformed or invalid and dropped, by channel',
      labelNames: ['channel'] as const,
      registers: reg,
    }),
    p2pPeerLost: new Counter({
      name: 'consortia_p2p_peer_lost_total',
      help: 'Established peer connections that ended, by reason (timeout: silent past the deadline; closed; error; banned; removed; replaced by a newer connection)',
      labelNames: ['reason'] as const,
      registers: reg,
    }),
    p2pQuorumVisible: new Gauge({
      name: 'consortia_p2p_quorum_visible',
      help: '1 when the validators this node is connected to (itself included) hold more than 2/3 of the voting power',
      registers: reg,
    }),
    storageBytes: new Gauge({
      name: 'consortia_storage_bytes',
      help: 'Approximate stored bytes, by kind',
      labelNames: ['kind'] as const,
      registers: reg,
    }),
    storagePrunedBlocks: new Counter({
      name: 'consortia_storage_pruned_blocks_total',
      help: 'Blocks pruned by the retention policy',
      registers: reg,
    }),
    storageRetainedLowestHeight: new Gauge({
      name: 'consortia_storage_retained_lowest_height',
      help: 'Lowest height whose full block is retained',
      registers: reg,
    }),
    lightVerifiedHeaders: new Counter({
      name: 'consortia_light_verified_headers_total',
      help: 'Light client: headers verified against the validator set',
      registers: reg,
    }),
    lightRejectedProofs: new Counter({
      name: 'consortia_light_rejected_proofs_total',
      help: 'Light client: proofs that failed verification',
      registers: reg,
    }),
    validators: createValidatorMetrics(registry),
  };
  return m;
}
