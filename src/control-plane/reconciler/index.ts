export {
  Reconciler,
  VALIDATOR_PENDING,
  VALIDATOR_REMOVED,
  validatorSetMessage,
  type ReconcilerDeps,
} from './reconciler.js';
export {
  registerRuntimeFactory,
  RuntimeResolver,
  type RuntimeFactory,
  type ClusterRuntimeInput,
} from './runtime-registry.js';
export { GovernanceWorker, httpChainClient, applyEffects, type GovernanceWorkerDeps } from './governance-worker.js';
export type { ChainClient, SubmitResult } from './chain-client.js';
export { advanceCeremony, sealCeremony, pendingApprovals, pendingNodes } from './ceremony-driver.js';
export { buildSpec, specHash, peersFor } from './spec.js';
export { PeriodicTask } from './periodic.js';
export { httpFetchNodeStatus, parseNodeStatus, type NodeChainStatus } from './node-status.js';
export { registerSignedNodes } from './node-registrar.js';
