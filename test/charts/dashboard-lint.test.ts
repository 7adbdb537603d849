import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lintDashboard, vectorSelectors, type Dashboard, type Exclusion } from './dashboard-lint.js';

// Grafana's dashboard-linter rules (see dashboard-lint.ts for the list) over the shipped dashboards.
const DIR = fileURLToPath(new URL('../../charts/consortia/dashboards/', import.meta.url));
const load = (f: string): Dashboard => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Dashboard;
const SCOPES: Record<string, string[]> = {
  'chain.json': ['cluster', 'namespace', 'consortium'],
  'control-plane.json': ['cluster', 'namespace'],
};

/** Like the linter's .lint file: what is excluded, where, and why. */
const EXCLUSIONS: Exclusion[] = ['target-job-rule', 'target-instance-rule', 'target-scope-rule'].flatMap((rule) =>
  ['PVC fill by tier', 'PVC free space forecast (4 days ahead)'].map((panel) => ({
    rule,
    dashboard: 'chain.json',
    panel,
    selector: /^kubelet_volume_stats_/,
    reason:
      'kubelet volume stats are scraped from the kubelet (its own job and instance, no consortium label); the panel joins them to the node targets, whose selector is scoped',
  })),
);

describe('PromQL selector scanner', () => {
  it('finds selectors with matchers, ranges and the functions around them', () => {
    const sels = vectorSelectors(
      'histogram_quantile(0.99, sum by (le) (rate(a_bucket{job=~"$job", le="1.5"}[$__rate_interval]))) / on (x) group_left (y) label_replace(b, "p", "data-$1", "pod", "(.+)") > 1',
    );
    expect(sels.map((s) => s.metric)).toEqual(['a_bucket', 'b']);
    expect(sels[0]!.matchers).toEqual([
      { name: 'job', op: '=~', value: '$job' },
      { name: 'le', op: '=', value: '1.5' },
    ]);
    expect(sels[0]!.range).toBe('$__rate_interval');
    expect(sels[0]!.functions).toEqual(['histogram_quantile', 'sum', 'rate']);
    expect(sels[1]!.functions).toEqual(['label_replace']);
    expect(vectorSelectors('sum(rate(c_total[5m])) by (le) + 4 * 86400')[0]).toMatchObject({
      metric: 'c_total',
      range: '5m',
      functions: ['sum', 'rate'],
    });
    expect(() => vectorSelectors('sum(rate(x{job="a"}[5m])')).toThrow(/unbalanced/);
  });
});

describe('dashboard-linter rules', () => {
  for (const [file, scope] of Object.entries(SCOPES)) {
    it(`${file} has no findings`, () => {
      expect(lintDashboard(file, load(file), scope, EXCLUSIONS)).toEqual([]);
    });
  }

  it('every exclusion is still needed (no stale exclusions)', () => {
    for (const e of EXCLUSIONS) {
      const without = lintDashboard(
        e.dashboard,
        load(e.dashboard),
        SCOPES[e.dashboard]!,
        EXCLUSIONS.filter((x) => x !== e),
      );
      expect(
        without.some((f) => f.rule === e.rule && f.where === `panel '${e.panel}'`),
        `${e.rule} ${e.panel}`,
      ).toBe(true);
    }
  });

  it('finds each kind of problem in a bad dashboard (the lint can fail)', () => {
    const bad: Dashboard = {
      editable: true,
      templating: {
        list: [
          { name: 'ds', type: 'datasource', query: 'prometheus', label: 'DS' },
          {
            name: 'job',
            type: 'query',
            label: 'job',
            datasource: { uid: 'prom' },
            multi: false,
            allValue: '.*',
            refresh: 1,
            query: 'label_values(up, job)',
          },
        ],
      },
      panels: [
        {
          id: 1,
          type: 'graph',
          title: 'Old',
          description: 'x',
          datasource: { uid: '${datasource}' },
          targets: [{ expr: 'up{job=~"$job", instance=~"$instance"}' }],
        },
        {
          id: 2,
          type: 'timeseries',
          title: 'No description',
          datasource: { uid: 'prom' },
          fieldConfig: { defaults: { unit: 'furlongs' } },
          targets: [{ expr: 'sum(rate(x_total{job="a"}[5m])) + y_total{job=~"$job", instance=~"$instance"}' }],
        },
        {
          id: 3,
          type: 'stat',
          title: 'Empty',
          description: 'x',
          datasource: { uid: '${datasource}' },
          fieldConfig: { defaults: { unit: 'short' } },
          targets: [],
        },
      ],
    };
    const rules = new Set(lintDashboard('bad.json', bad, ['namespace']).map((f) => f.rule));
    expect([...rules].sort()).toEqual([
      'panel-datasource-rule',
      'panel-deprecated-rule',
      'panel-no-targets-rule',
      'panel-title-description-rule',
      'panel-units-rule',
      'target-counter-agg-rule',
      'target-instance-rule',
      'target-job-rule',
      'target-rate-interval-rule',
      'target-scope-rule',
      'template-datasource-rule',
      'template-instance-rule',
      'template-job-rule',
      'template-on-time-change-reload-rule',
      'uneditable-dashboard',
    ]);
  });
});
