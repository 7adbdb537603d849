/** Control-plane Prometheus metrics (docs/operations.md#metrics). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export const CONTROL_PLANE_METRIC_NAMES = [
  'consortia_api_requests_total',
  'consortia_api_request_duration_seconds',
  'consortia_nodes',
  'consortia_reconcile_duration_seconds',
  'consortia_reconcile_errors_total',
  'consortia_proposals',
  'consortia_reconcile_queue_depth',
  'consortia_reconcile_queue_oldest_age_seconds',
  'consortia_ceremony_duration_seconds',
  'consortia_proposal_duration_seconds',
  'consortia_api_auth_failures_total',
  'consortia_webhook_deliveries_total',
  'consortia_webhook_delivery_latency_seconds',
  'consortia_webhook_backlog',
] as const;

/** What the backlog gauges read at scrape time (the reconciler's ReconcileBacklog). */
export interface BacklogSource {
  depth(): number;
  oldestAgeSeconds(): number;
}

export function createControlPlaneMetrics(registry: Registry) {
  const backlog: { source: BacklogSource | null } = { source: null };
  return {
    /** Set by the reconciler: the backlog gauges read it at scrape time. */
    backlog,
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
    /** Every 401/403 answered; labels bounded by api/auth-failures.ts (AUTH_FAILURE_CODES, AUTH_FAILURE_REASONS, else `other`). */
    authFailures: new Counter({
      name: 'consortia_api_auth_failures_total',
      help: 'API requests refused with 401 or 403, by error code and reason (missing_token, unknown_token, expired, role, ...)',
      labelNames: ['code', 'reason'] as const,
      registers: [registry],
    }),
    nodes: new Gauge({
      name: 'consortia_nodes',
      help: 'Nodes by consortium, role and status phase',
      labelNames: ['consortium', 'role', 'status'] as const,
      registers: [registry],
    }),
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
    proposals: new Gauge({
      name: 'consortia_proposals',
      help: 'Proposals by status',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    reconcileQueueDepth: new Gauge({
      name: 'consortia_reconcile_queue_depth',
      help: 'Nodes whose desired state is not yet running: being created, updated or deleted, failed and retrying, or an update held back',
      registers: [registry],
      collect() {
        if (backlog.source) this.set(backlog.source.depth());
      },
    }),
    reconcileQueueOldestAge: new Gauge({
      name: 'consortia_reconcile_queue_oldest_age_seconds',
      help: 'How long the node that has waited longest in the reconcile backlog has been waiting (0 when the backlog is empty)',
      registers: [registry],
      collect() {
        if (backlog.source) this.set(backlog.source.oldestAgeSeconds());
      },
    }),
    ceremonyDuration: new Histogram({
      name: 'consortia_ceremony_duration_seconds',
      help: 'Key ceremonies that sealed a genesis, by phase: collecting_keys (start to genesis assembled), awaiting_approvals (to sealed), total',
      labelNames: ['phase'] as const,
      buckets: [10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 86400, 7 * 86400],
      registers: [registry],
    }),
    proposalDuration: new Histogram({
      name: 'consortia_proposal_duration_seconds',
      help: "Time from a proposal's creation to each outcome it reached: approved, rejected, expired, executed, execution_failed",
      labelNames: ['outcome'] as const,
      buckets: [1, 10, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400],
      registers: [registry],
    }),
    // Webhook delivery (delivery/worker.ts). No per-subscription label: `kind` has 5 values, `outcome` 4.
    webhookDeliveries: new Counter({
      name: 'consortia_webhook_deliveries_total',
      help: 'Webhook POST attempts by outcome: delivered (2xx), failed (will retry), dead_lettered (attempts exhausted), redelivered (a dead letter answered 2xx)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    webhookLatency: new Histogram({
      name: 'consortia_webhook_delivery_latency_seconds',
      help: "From an event's commit (block time, or change recorded) to the receiver's 2xx, by subscription kind",
      labelNames: ['kind'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600],
      registers: [registry],
    }),
    webhookBacklog: new Gauge({
      name: 'consortia_webhook_backlog',
      help: 'The most any subscription of this kind is behind: blocks (chain kinds) or change-log entries (control_plane)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
  };
}
export type ControlPlaneMetrics = ReturnType<typeof createControlPlaneMetrics>;
