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
export { IngestQueue, type IngestLimits } from './ingest-queue.js';
