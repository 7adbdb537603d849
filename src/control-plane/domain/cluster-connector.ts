/**
 * Hook for deployment-target checks. The kubernetes runtime owner registers a validator
 * for kind 'kubernetes' that checks reachability and server version; POST /v1/clusters
 * calls it before storing the cluster (failure -> 400 CLUSTER_UNREACHABLE).
 */
export interface ClusterCheckInput {
  name: string;
  kind: 'kubernetes';
  kubeconfig?: string;
  inCluster: boolean;
  runtimeOptions?: Record<string, unknown>;
}
export interface ClusterCheckResult {
  serverVersion?: string;
}
export type ClusterValidator = (input: ClusterCheckInput) => Promise<ClusterCheckResult>;

const validators = new Map<string, ClusterValidator>();

export function registerClusterValidator(kind: string, fn: ClusterValidator): void {
  validators.set(kind, fn);
}

export function getClusterValidator(kind: string): ClusterValidator | undefined {
  return validators.get(kind);
}
