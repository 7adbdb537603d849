/**
 * Kubernetes runtime: pure manifest builders (manifests/), server-side apply client, watches mapped
 * to typed reconcile requests (event-mapping.ts) run by the shared work queue (../../workqueue),
 * status, rolling upgrades, each node's HTTPS certificate from the node CA (node-tls.ts), and the
 * cluster registration hooks.
 */
export { createKubernetesRuntime, type KubernetesRuntime, type CreateKubernetesRuntimeInput } from './runtime.js';
export {
  resolveOptions,
  DEFAULT_OPTIONS,
  type KubernetesRuntimeOptions,
  type KubernetesRuntimeInput,
  type TierStorage,
} from './options.js';
export { checkCluster, type ClusterCheck } from './cluster.js';
export { KubeClient, loadKubeConfig } from './client.js';
export { KubernetesCodes } from './errors.js';
export { requestForEvent, requestForObject, type EventMappingView } from './event-mapping.js';
export {
  consortiumRequest,
  nodeRequest,
  requestKey,
  type NodeRef,
  type ReconcileRequest,
} from './reconcile-request.js';
export { deriveObservation, podReadyWithImage } from './status.js';
export { quorumSize, canTakeDown, upgradeOrder } from './upgrade-plan.js';
export { NodeCertificates, nodeCertNames, nodePodServerName } from './node-tls.js';
export * from './names.js';
export * from './manifests/index.js';
export {
  kubernetesClusterValidator,
  kubernetesRuntimeFactory,
  registerKubernetesClusterValidator,
} from './register.js';
