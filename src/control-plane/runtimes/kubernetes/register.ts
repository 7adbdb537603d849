import { registerClusterValidator, type ClusterValidator } from '../../domain/cluster-connector.js';
import { ConsortiaError } from '../../../lib/errors.js';
import { CpCodes } from '../../domain/errors.js';
import { checkCluster } from './cluster.js';
import { resolveOptions } from './options.js';
import { createKubernetesRuntime, type CreateKubernetesRuntimeInput, type KubernetesRuntime } from './runtime.js';

/**
 * POST /v1/clusters check for kind 'kubernetes': the runtime options are valid (400 naming the
 * option), credentials work and the server answers; returns its version.
 */
export const kubernetesClusterValidator: ClusterValidator = async (input) => {
  try {
    resolveOptions(input.runtimeOptions ?? {});
  } catch (err) {
    const key = (err as ConsortiaError).details?.['key'];
    throw new ConsortiaError(CpCodes.VALIDATION_FAILED, (err as Error).message, {
      field: `runtimeOptions${key ? `.${String(key)}` : ''}`,
    });
  }
  const v = await checkCluster(
    input.inCluster ? { inCluster: true } : { ...(input.kubeconfig ? { kubeconfig: input.kubeconfig } : {}) },
  );
  return { serverVersion: v.gitVersion };
};

/**
 * Runtime factory for one registered cluster: the control plane passes the cluster's decrypted
 * kubeconfig (or inCluster) plus its runtime configuration (namespace prefix, storage classes, image...).
 */
export function kubernetesRuntimeFactory(
  cluster: { kubeconfig?: string; inCluster?: boolean },
  config: Omit<CreateKubernetesRuntimeInput, 'kubeconfig' | 'inCluster'> = {},
): KubernetesRuntime {
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
