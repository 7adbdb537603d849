/**
 * "Consortia / Control plane": the platform's API, the nodes it runs, its reconcile backlog, and
 * governance (proposals, key ceremonies), as the control plane reports them (job consortia-control-plane).
 */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  Scope,
  baseDashboard,
  datasourceVariable,
  finalize,
  queryVariable,
  row,
  statPanel,
  timeseriesPanel,
} from './common.js';

const s = new Scope(['job=~"$job"', 'instance=~"$instance"', 'cluster=~"$cluster"', 'namespace=~"$namespace"']);
const R = 'consortia_api_requests_total';
const q = (expr: string, legend?: string) => ({ expr, ...(legend !== undefined ? { legend } : {}) });
/** Requests of the availability SLO: every route but the probes and /metrics. */
const SLO_ROUTES = 'route!~"/metrics|/healthz|/readyz"';

export function controlPlaneDashboard(): dashboard.Dashboard {
  const vars = [
    datasourceVariable(),
    queryVariable(
      'cluster',
      'Cluster',
      `label_values(${R}, cluster)`,
      '.*',
      'Kubernetes cluster (the cluster label, where Prometheus adds one)',
    ),
    queryVariable(
      'namespace',
      'Namespace',
      `label_values(${R}{cluster=~"$cluster"}, namespace)`,
      '.*',
      'Namespace of the control plane release',
    ),
    queryVariable(
      'job',
      'Job',
      `label_values(${R}{cluster=~"$cluster", namespace=~"$namespace"}, job)`,
      '.+',
      'Scrape job of the control plane (consortia-control-plane)',
    ),
    queryVariable(
      'instance',
      'Instance',
      `label_values(${R}{cluster=~"$cluster", namespace=~"$namespace", job=~"$job"}, instance)`,
      '.+',
      'Control-plane targets',
    ),
  ];
  const d = baseDashboard(
    'consortia-control-plane',
    'Consortia / Control plane',
    'The platform: API rate, errors and latency by route, nodes by status and role, the reconcile backlog, proposals and key ceremonies.',
    ['control-plane'],
  );
  for (const v of vars) d.withVariable(v);
  const latency = (p: number) =>
    timeseriesPanel({
      title: `Latency p${p * 100} by route`,
      unit: 's',
      span: 8,
      description: `API request latency at the ${p * 100}th percentile, by route.`,
      queries: [
        q(
          `histogram_quantile(${p}, sum by (route, le) (rate(${s.sel('consortia_api_request_duration_seconds_bucket')}[$__rate_interval])))`,
          '{{route}}',
        ),
      ],
    });

  d.withRow(
    row('API')
      .withPanel(
        timeseriesPanel({
          title: 'Request rate by route',
          unit: 'reqps',
          span: 8,
          stack: true,
          description: 'API requests per second, by route.',
          queries: [q(`sum by (route) (rate(${s.sel(R)}[$__rate_interval]))`, '{{route}}')],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Responses by status',
          unit: 'reqps',
          span: 8,
          stack: true,
          description: 'API responses per second, by HTTP status.',
          queries: [q(`sum by (status) (rate(${s.sel(R)}[$__rate_interval]))`, '{{status}}')],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'API availability SLO: 5xx share',
          unit: 'percentunit',
          span: 8,
          min: 0,
          thresholds: [[0.001, 'red']],
          showThresholds: true,
          description:
            'Share of API requests (all routes but /metrics and the probes) answered with 5xx. The objective allows 0.1% over 30 days; ConsortiaApiAvailabilitySLOBurn alerts on 14.4x (1h/5m) and 6x (6h/30m) that rate.',
          queries: [
            q(
              `sum(rate(${s.sel(R, `${SLO_ROUTES}, status=~"5.."`)}[$__rate_interval])) / sum(rate(${s.sel(R, SLO_ROUTES)}[$__rate_interval]))`,
              '5xx share',
            ),
          ],
        }),
      )
      .withPanel(latency(0.5))
      .withPanel(latency(0.95))
      .withPanel(latency(0.99))
      .withPanel(
        timeseriesPanel({
          title: 'Refused requests (401/403) by reason',
          unit: 'reqps',
          span: 24,
          stack: true,
          description:
            'Requests refused with 401 or 403 per second, by code and reason (unknown_token, expired, role, ...). Each is in the audit log as auth.denied; over 1/s for 10 minutes: ConsortiaApiAuthFailures.',
          queries: [
            q(
              `sum by (code, reason) (rate(${s.sel('consortia_api_auth_failures_total')}[$__rate_interval]))`,
              '{{code}} {{reason}}',
            ),
          ],
        }),
      ),
  );

  d.withRow(
    row('Nodes and reconcile')
      .withPanel(
        statPanel({
          title: 'Reconcile backlog',
          unit: 'none',
          span: 6,
          thresholds: [[1, 'orange']],
          description:
            'Nodes whose desired state is not yet running: being created, updated or deleted, failed and retrying, or an update held back to protect a quorum.',
          queries: [q(`max(${s.sel('consortia_reconcile_queue_depth')})`, 'nodes')],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Oldest backlog item',
          unit: 's',
          span: 6,
          thresholds: [
            [600, 'orange'],
            [1800, 'red'],
          ],
          description:
            'How long the node that has waited longest in the reconcile backlog has been waiting. Over 30 minutes: ConsortiaReconcileBacklogStuck.',
          queries: [q(`max(${s.sel('consortia_reconcile_queue_oldest_age_seconds')})`, 'age')],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Reconcile backlog over time',
          unit: 'none',
          span: 12,
          description: "Backlog depth (nodes) and the oldest item's age (minutes).",
          queries: [
            q(`max(${s.sel('consortia_reconcile_queue_depth')})`, 'nodes waiting'),
            q(`max(${s.sel('consortia_reconcile_queue_oldest_age_seconds')}) / 60`, 'oldest (minutes)'),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Nodes by status',
          unit: 'none',
          span: 8,
          stack: true,
          description: 'Nodes by status phase, over all consortia.',
          queries: [q(`sum by (status) (${s.sel('consortia_nodes')})`, '{{status}}')],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Nodes by role',
          unit: 'none',
          span: 8,
          stack: true,
          description: 'Nodes by role (validator, super, ordinary, light), deleted ones excluded.',
          queries: [q(`sum by (role) (${s.sel('consortia_nodes', 'status!="Deleted"')})`, '{{role}}')],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Nodes by consortium',
          unit: 'none',
          span: 8,
          stack: true,
          description: 'Nodes per consortium, deleted ones excluded.',
          queries: [q(`sum by (consortium) (${s.sel('consortia_nodes', 'status!="Deleted"')})`, '{{consortium}}')],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Reconcile errors',
          unit: 'ops',
          span: 12,
          description: 'Failed node reconciles per second, by runtime (local, kubernetes).',
          queries: [
            q(`sum by (runtime) (rate(${s.sel('consortia_reconcile_errors_total')}[$__rate_interval]))`, '{{runtime}}'),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Reconcile duration',
          unit: 's',
          span: 12,
          description: 'Duration of one node reconcile, by runtime.',
          queries: [0.5, 0.95, 0.99].map((p) =>
            q(
              `histogram_quantile(${p}, sum by (runtime, le) (rate(${s.sel('consortia_reconcile_duration_seconds_bucket')}[$__rate_interval])))`,
              `p${p * 100} {{runtime}}`,
            ),
          ),
        }),
      ),
  );

  d.withRow(
    row('Governance')
      .withPanel(
        timeseriesPanel({
          title: 'Proposals by status',
          unit: 'none',
          span: 8,
          stack: true,
          description: 'Proposals by status over all consortia.',
          queries: [q(`sum by (status) (${s.sel('consortia_proposals')})`, '{{status}}')],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Proposal duration by outcome (mean)',
          unit: 's',
          span: 8,
          description:
            "Mean time from a proposal's creation to each outcome it reached (approved, rejected, expired, executed, execution_failed), over the dashboard's time range.",
          queries: [
            q(
              `sum by (outcome) (increase(${s.sel('consortia_proposal_duration_seconds_sum')}[$__range])) / sum by (outcome) (increase(${s.sel('consortia_proposal_duration_seconds_count')}[$__range]))`,
              '{{outcome}}',
            ),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Key ceremony duration by phase (mean)',
          unit: 's',
          span: 8,
          description:
            'Mean duration of sealed key ceremonies over the time range, by phase: collecting_keys (start to genesis assembled), awaiting_approvals (to sealed), total.',
          queries: [
            q(
              `sum by (phase) (increase(${s.sel('consortia_ceremony_duration_seconds_sum')}[$__range])) / sum by (phase) (increase(${s.sel('consortia_ceremony_duration_seconds_count')}[$__range]))`,
              '{{phase}}',
            ),
          ],
        }),
      ),
  );

  d.withRow(
    row('Webhook delivery')
      .withPanel(
        timeseriesPanel({
          title: 'Webhook deliveries by outcome',
          unit: 'ops',
          span: 8,
          stack: true,
          description:
            'Webhook POSTs per second: delivered (2xx), failed (retried with backoff), dead_lettered (attempts exhausted), redelivered (a dead letter answered 2xx).',
          queries: [
            q(
              `sum by (outcome) (rate(${s.sel('consortia_webhook_deliveries_total')}[$__rate_interval]))`,
              '{{outcome}}',
            ),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Webhook delivery latency (commit to 2xx)',
          unit: 's',
          span: 8,
          description:
            "From an event's commit (block time, or change recorded) to the receiver's 2xx, by subscription kind.",
          queries: [0.5, 0.99].map((p) =>
            q(
              `histogram_quantile(${p}, sum by (kind, le) (rate(${s.sel('consortia_webhook_delivery_latency_seconds_bucket')}[$__rate_interval])))`,
              `p${p * 100} {{kind}}`,
            ),
          ),
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Webhook backlog',
          unit: 'none',
          span: 8,
          description:
            'The most any subscription of each kind is behind: blocks (chain kinds) or change-log entries (control_plane). Growing: a receiver is slow or failing.',
          queries: [q(`max by (kind) (${s.sel('consortia_webhook_backlog')})`, '{{kind}}')],
        }),
      ),
  );

  d.withRow(
    row('Process').withPanel(
      timeseriesPanel({
        title: 'Event-loop lag',
        unit: 's',
        span: 24,
        description: 'Event-loop delay of the control plane since the previous scrape: max and p99.',
        queries: ['max', 'p99'].map((st) =>
          q(`max by (stat) (${s.sel('consortia_process_event_loop_lag_seconds', `stat="${st}"`)})`, '{{stat}}'),
        ),
      }),
    ),
  );

  return finalize(d);
}
