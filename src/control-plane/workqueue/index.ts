/**
 * The control plane's one work queue: per-key dedup, one run at a time per key, retries with
 * per-key exponential backoff, requeue after a delay. Used by the reconciler (reconciler/) and the
 * Kubernetes runtime (runtimes/kubernetes/); it depends on neither.
 */
export { WorkQueue, type WorkQueueOptions, type Reconciler, type ReconcileResult } from './work-queue.js';
export { Backoff, NO_JITTER } from './backoff.js';
