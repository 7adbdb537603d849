import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { NODE_METRIC_NAMES } from '../../src/node/metrics.js';
import { CONTROL_PLANE_METRIC_NAMES } from '../../src/control-plane/metrics.js';
import { EVENT_LOOP_LAG_METRIC } from '../../src/lib/event-loop-lag.js';
import {
  dashboardExpressions,
  isExported,
  metricNamesInPromQL,
  metricNamesInVariableQuery,
  ruleExpressions,
  unknownMetricRefs,
  type ExprRef,
} from './metric-refs.js';

// Dashboards and alert rules are code: a panel or rule that names a metric the node or the
// control plane does not export is a bug this suite catches.
const CHART = fileURLToPath(new URL('../../charts/consortia/', import.meta.url));
const EXPORTED: ReadonlySet<string> = new Set<string>([
  ...NODE_METRIC_NAMES,
  ...CONTROL_PLANE_METRIC_NAMES,
  EVENT_LOOP_LAG_METRIC,
]);
/**
 * Series the code does not export that panels and rules may name, each for a reason: Prometheus'
 * own `up` per target (down and absent targets), and the kubelet's volume stats (PVC fill and its
 * forecast). Nothing else.
 */
const EXTERNAL: readonly string[] = [
  'up',
  'kubelet_volume_stats_used_bytes',
  'kubelet_volume_stats_capacity_bytes',
  'kubelet_volume_stats_available_bytes',
];

const dashboardFiles = readdirSync(join(CHART, 'dashboards'))
  .filter((f) => f.endsWith('.json'))
  .sort();
const dashboards = dashboardFiles.map((f) => ({
  file: f,
  json: JSON.parse(readFileSync(join(CHART, 'dashboards', f), 'utf8')),
}));
const rulesFile = 'rules/consortia-alerts.yaml';
const rules = parseYaml(readFileSync(join(CHART, rulesFile), 'utf8'));

const panelRefs: ExprRef[] = dashboards.flatMap((d) => dashboardExpressions(d.file, d.json).panels);
const variableRefs: ExprRef[] = dashboards.flatMap((d) => dashboardExpressions(d.file, d.json).variables);
const ruleRefs: ExprRef[] = ruleExpressions(rulesFile, rules);
/** Names the rules record themselves (`record:`), usable by later rules. */
const RECORDED: readonly string[] = (rules.groups as { rules: { record?: string }[] }[]).flatMap((g) =>
  g.rules.flatMap((r) => (r.record ? [r.record] : [])),
);
const PANEL_KNOWN: ReadonlySet<string> = new Set([...EXPORTED, ...EXTERNAL]);
const RULE_KNOWN: ReadonlySet<string> = new Set([...EXPORTED, ...EXTERNAL, ...RECORDED]);

describe('metric reference extractor', () => {
  it('finds names in aggregations, binary operators and histogram quantiles', () => {
    expect(
      metricNamesInPromQL(
        'max by (namespace) (consortia_chain_height) - on (namespace) group_right consortia_chain_height > 20',
      ),
    ).toEqual(['consortia_chain_height']);
    expect(
      metricNamesInPromQL(
        'histogram_quantile(0.99, sum by (namespace, le) (rate(consortia_chain_commit_latency_seconds_bucket{namespace=~"$namespace", pod=~"a|b"}[$__rate_interval])))',
      ),
    ).toEqual(['consortia_chain_commit_latency_seconds_bucket']);
    expect(
      metricNamesInPromQL(
        'sum(rate(a_total{status=~"5.."}[5m] offset 1h)) / clamp_min(sum(rate(b_total[5m])), 1e-9) > 0.05 and on() vector(1)',
      ).sort(),
    ).toEqual(['a_total', 'b_total']);
    expect(
      metricNamesInPromQL('sum(rate(x_seconds_sum[5m])) by (le) / sum(rate(x_seconds_count[5m])) by (le)').sort(),
    ).toEqual(['x_seconds_count', 'x_seconds_sum']);
  });

  it('reads template variable queries', () => {
    expect(metricNamesInVariableQuery('label_values(consortia_chain_height{namespace=~"$namespace"}, pod)')).toEqual([
      'consortia_chain_height',
    ]);
    expect(metricNamesInVariableQuery('label_values(namespace)')).toEqual([]);
    expect(metricNamesInVariableQuery('query_result(topk(5, consortia_p2p_peers))')).toEqual(['consortia_p2p_peers']);
  });

  it('maps histogram series to their base name and nothing else', () => {
    expect(isExported('consortia_chain_commit_latency_seconds_bucket', EXPORTED)).toBe(true);
    expect(isExported('consortia_api_request_duration_seconds_count', EXPORTED)).toBe(true);
    expect(isExported('consortia_chain_height_bucket_x', EXPORTED)).toBe(false);
    expect(isExported('consortia_chain_heigth', EXPORTED)).toBe(false);
  });

  it('reports an unknown metric in a bad expression (the check can fail)', () => {
    const bad: ExprRef[] = [
      { where: 'bad panel', expr: 'sum by (namespace) (rate(consortia_chain_txs_comitted_total[5m]))' },
      { where: 'bad rule', expr: 'histogram_quantile(0.9, rate(consortia_chain_finality_seconds_bucket[5m])) > 1' },
      { where: 'good', expr: 'consortia_chain_height > 0' },
    ];
    const problems = unknownMetricRefs(bad, EXPORTED);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain("'consortia_chain_txs_comitted_total'");
    expect(problems[1]).toContain("'consortia_chain_finality_seconds_bucket'");
  });
});

describe('Grafana dashboards and alert rules', () => {
  it('ships the chain and control-plane dashboards with expressions', () => {
    expect(dashboardFiles).toEqual(['chain.json', 'control-plane.json']);
    for (const d of dashboards) {
      expect(typeof d.json.uid).toBe('string');
      expect(dashboardExpressions(d.file, d.json).panels.length).toBeGreaterThan(5);
    }
    expect(ruleRefs.length).toBeGreaterThan(5);
  });

  it('every metric named by a dashboard panel exists in the code exports', () => {
    expect(unknownMetricRefs(panelRefs, PANEL_KNOWN)).toEqual([]);
  });

  it('every metric named by a dashboard variable exists in the code exports', () => {
    expect(variableRefs.length).toBeGreaterThan(0);
    expect(unknownMetricRefs(variableRefs, EXPORTED, true)).toEqual([]);
  });

  it('every metric named by an alert rule exists in the code exports', () => {
    expect(RECORDED.length).toBeGreaterThan(0);
    expect(unknownMetricRefs(ruleRefs, RULE_KNOWN)).toEqual([]);
  });

  it('every exported metric is charted on a dashboard', () => {
    const charted = new Set(
      panelRefs.flatMap((r) => metricNamesInPromQL(r.expr)).map((n) => n.replace(/_(bucket|sum|count)$/, '')),
    );
    const missing = [...EXPORTED].filter((n) => !charted.has(n));
    expect(missing).toEqual([]);
  });

  it('gives each panel a unique id and each alert a severity and summary', () => {
    for (const d of dashboards) {
      const ids = (d.json.panels as { id: number }[]).map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
    }
    for (const g of rules.groups as {
      rules: { alert?: string; labels?: { severity?: string }; annotations?: { summary?: string } }[];
    }[]) {
      for (const r of g.rules.filter((x) => x.alert !== undefined)) {
        expect(['critical', 'warning', 'info'], r.alert).toContain(r.labels?.severity);
        expect(r.annotations?.summary, r.alert).toBeTruthy();
      }
    }
  });
});
