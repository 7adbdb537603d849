import type { KubernetesRuntimeOptions } from '../options.js';

/** A manifest as sent with server-side apply (plain JSON, apiVersion/kind/metadata always set). */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/** Everything a node builder needs besides the NodeSpec. */
export interface BuildContext {
  opts: KubernetesRuntimeOptions;
  namespace: string;
  /** monitoring.coreos.com/v1 ServiceMonitor is served by the cluster. */
  serviceMonitorAvailable: boolean;
}
