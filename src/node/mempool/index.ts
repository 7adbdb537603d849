export { Mempool, MempoolReasons, type MempoolChain, type MempoolLimits, type MempoolTx, type AdmitResult } from './mempool.js';
export { GossipBatcher, encodeTxBatch, decodeTxBatch } from './gossip.js';
export { IngestQueue, type IngestLimits } from './ingest-queue.js';
