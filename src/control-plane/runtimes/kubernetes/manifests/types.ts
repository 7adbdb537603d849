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
  /** The node's server certificate (node-tls.ts), put into its TLS Secret. */
  tls: NodeTlsMaterial;
}

/** A node's HTTPS material: its certificate and key, and the node CA that signed it. */
export interface NodeTlsMaterial {
  cert: string;
  key: string;
  /** PEM certificate of the node CA. */
  ca: string;
  /** Changes only when the CA or the certificate's names change: on the pod template, so such a change restarts the pod. */
  digest: string;
}
