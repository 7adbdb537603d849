/** Stable error codes of the kubernetes runtime (mapped to HTTP status by the API's one handler). */
export const KubernetesCodes = {
  /** Cluster unreachable, bad credentials or unusable kubeconfig. */
  K8S_CLUSTER_UNREACHABLE: 'K8S_CLUSTER_UNREACHABLE',
  K8S_INVALID_KUBECONFIG: 'K8S_INVALID_KUBECONFIG',
  /** Server-side apply refused: another field manager owns a field we declare (force=false). */
  K8S_APPLY_CONFLICT: 'K8S_APPLY_CONFLICT',
  /** Any other API error on apply/delete/read. */
  K8S_API_ERROR: 'K8S_API_ERROR',
  K8S_FORBIDDEN: 'K8S_FORBIDDEN',
  /** Rolling upgrade could not proceed without taking validators below quorum, or timed out. */
  K8S_UPGRADE_BLOCKED: 'K8S_UPGRADE_BLOCKED',
  K8S_UPGRADE_TIMEOUT: 'K8S_UPGRADE_TIMEOUT',
  K8S_INVALID_OPTIONS: 'K8S_INVALID_OPTIONS',
} as const;
export type KubernetesCode = (typeof KubernetesCodes)[keyof typeof KubernetesCodes];
