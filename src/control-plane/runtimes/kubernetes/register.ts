import { registerClusterValidator, type ClusterValidator } from '../../domain/cluster-connector.js';
import { checkCluster } from './cluster.js';
import { createKubernetesRuntime, type CreateKubernetesRuntimeInput, type KubernetesRuntime } from './runtime.js';

/** POST /v1/clusters check for kind 'kubernetes': credentials work and the server answers; returns its version. */
export const kubernetesClusterValidator: ClusterValidator = async (input) => {
  const v = await checkCluster(input.inCluster ? { inCluster: true } : { ...(input.kubeconfig ? { kubeconfig: input.kubeconfig } : {}) });
  return { serverVersion: v.gitVersion };
};

/**
 * Runtime factory for one registered cluster: the control plane passes the cluster's decrypted
 * kubeconfig (or inCluster) plus its runtime configuration (namespace prefix, storage classes, image...).
 */
export function kubernetesRuntimeFactory(cluster: { kubeconfig?: string; inCluster?: boolean }, config: Omit<CreateKubernetesRuntimeInput, 'kubeconfig' | 'inCluster'> = {}): KubernetesRuntime {
  return createKubernetesRuntime({
    ...config,
    ...(cluster.inCluster ? { inCluster: true } : {}),
    ...(cluster.kubeconfig && !cluster.inCluster ? { kubeconfig: cluster.kubeconfig } : {}),
  });
}

/** Registers the cluster validator (idempotent). Call once at control-plane start. */
export function registerKubernetesClusterValidator(): void {
  registerClusterValidator('kubernetes', kubernetesClusterValidator);
}
