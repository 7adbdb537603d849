export {
  Mempool,
  MempoolReasons,
  MEMPOOL_ACCOUNT_TXS_MAX,
  MEMPOOL_FUTURE_NONCES_MAX,
  MEMPOOL_PEER_SHARE_PERCENT,
  MEMPOOL_TX_TTL_MS,
  MEMPOOL_VERIFIED_CACHE_MAX,
  type MempoolChain,
  type MempoolLimits,
  type MempoolTx,
  type AdmitResult,
} from './mempool.js';
export { GossipBatcher, encodeTxBatch, decodeTxBatch } from './gossip.js';
export { INGEST_QUEUE_TXS_MAX, INGEST_SLICE_MS, IngestQueue, type IngestLimits } from './ingest-queue.js';
export {
  BacklogGate,
  MEMPOOL_BACKLOG_FLOOR_TXS,
  MEMPOOL_BACKLOG_TARGET_MS,
  type BacklogGateLimits,
  type GateRoom,
} from './backlog-gate.js';
