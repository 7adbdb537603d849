/** Control-plane Prometheus metrics (contracts §4). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export const CONTROL_PLANE_METRIC_NAMES = [
  'consortia_api_requests_total',
  'consortia_api_request_duration_seconds',
  'consortia_nodes',
  'consortia_reconcile_duration_seconds',
  'consortia_reconcile_errors_total',
  'consortia_proposals',
] as const;

export function createControlPlaneMetrics(registry: Registry) {
  return {
    apiRequests: new Counter({
      name: 'consortia_api_requests_total',
      help: 'API requests by route, method and status',
      labelNames: ['route', 'method', 'status'] as const,
      registers: [registry],
    }),
    apiDuration: new Histogram({
      name: 'consortia_api_request_duration_seconds',
      help: 'API request latency by route and method',
      labelNames: ['route', 'method'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    nodes: new Gauge({ name: 'consortia_nodes', help: 'Nodes by role and status phase', labelNames: ['role', 'status'] as const, registers: [registry] }),
    reconcileDuration: new Histogram({
      name: 'consortia_reconcile_duration_seconds',
      help: 'Duration of one node reconcile by runtime',
      labelNames: ['runtime'] as const,
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: 'consortia_reconcile_errors_total',
      help: 'Failed node reconciles by runtime',
      labelNames: ['runtime'] as const,
      registers: [registry],
    }),
    proposals: new Gauge({ name: 'consortia_proposals', help: 'Proposals by status', labelNames: ['status'] as const, registers: [registry] }),
  };
}
export type ControlPlaneMetrics = ReturnType<typeof createControlPlaneMetrics>;
