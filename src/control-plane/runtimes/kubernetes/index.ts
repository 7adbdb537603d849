/**
 * Kubernetes runtime: pure manifest builders (manifests/), server-side apply client, watches with a
 * coalescing per-node queue, status, rolling upgrades, and the cluster registration hooks.
 */
export { createKubernetesRuntime, type KubernetesRuntime, type CreateKubernetesRuntimeInput } from './runtime.js';
export { resolveOptions, DEFAULT_OPTIONS, type KubernetesRuntimeOptions, type KubernetesRuntimeInput, type TierStorage } from './options.js';
export { checkCluster, type ClusterCheck } from './cluster.js';
export { KubeClient, loadKubeConfig } from './client.js';
export { KubernetesCodes } from './errors.js';
export { WorkQueue } from './queue.js';
export { deriveObservation, podReadyWithImage } from './status.js';
export { quorumSize, canTakeDown, upgradeOrder } from './upgrade-plan.js';
export * from './names.js';
export * from './manifests/index.js';
export { kubernetesClusterValidator, kubernetesRuntimeFactory, registerKubernetesClusterValidator } from './register.js';
