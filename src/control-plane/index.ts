/** Public surface of the control plane (CLI, e2e tests and the kubernetes runtime use these). */
export { buildServer, type ServerDeps } from './server.js';
export { ensureBootstrap } from './api/bootstrap.js';
export { loadControlPlaneConfig, ControlPlaneConfigSchema, type ControlPlaneConfig } from './config.js';
export { createControlPlaneMetrics, CONTROL_PLANE_METRIC_NAMES, type ControlPlaneMetrics } from './metrics.js';
export {
  verifyTranscript,
  registerClusterValidator,
  sealSecret,
  openSecret,
  parseEncryptionKey,
  CpCodes,
} from './domain/index.js';
export type { TranscriptEntry, TranscriptVerdict, ClusterValidator, ClusterCheckInput } from './domain/index.js';
export {
  registerRuntimeFactory,
  Reconciler,
  RuntimeResolver,
  GovernanceWorker,
  type RuntimeFactory,
  type ClusterRuntimeInput,
} from './reconciler/index.js';
export { LevelStore } from './store/index.js';
