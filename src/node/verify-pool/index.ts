export {
  VerifyPool,
  VerifyPoolError,
  VerifyPoolCodes,
  defaultVerifyWorkers,
  spawnVerifyWorker,
  VERIFY_BATCH_TXS_MAX,
  VERIFY_JOB_ATTEMPTS_MAX,
  VERIFY_JOB_TIMEOUT_MS,
  VERIFY_QUEUE_JOBS_MAX,
  VERIFY_RESPAWN_DELAY_MS,
  VERIFY_START_FAILURES_MAX,
  VERIFY_WORKERS_MAX,
  type VerifyPoolOptions,
  type VerifyPriority,
} from './pool.js';
export { packItems, unpackItems, SIGNING_TAGS, type VerifyItem } from './pack.js';
export { txSignatureItem, verifyTxSignatures } from './tx-items.js';
