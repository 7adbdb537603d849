/**
 * Shared pieces of the Consortia Grafana dashboards, built with Grafana's foundation SDK
 * (@grafana/grafana-foundation-sdk). `npm run dashboards` writes ../dashboards/*.json from
 * chain.ts and control-plane.ts; test/charts/dashboards-generated.test.ts fails when a committed
 * JSON is stale, and test/charts/dashboard-lint.test.ts applies Grafana's dashboard-linter rules.
 *
 * Every query goes through a Scope: it carries the template-variable matchers (job, instance,
 * cluster, namespace, ...) that each selector must have, so a panel cannot forget one.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

export const DATASOURCE: common.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** Matchers of one dashboard's template variables, in the order they are written into each selector. */
export class Scope {
  constructor(private readonly matchers: readonly string[]) {}
  /** `metric{<scope matchers>, <extra>}`. */
  sel(metric: string, extra = ''): string {
    return `${metric}{${[...this.matchers, ...(extra ? [extra] : [])].join(', ')}}`;
  }
  /** The scope's matchers alone, e.g. for a selector of another job (see the lint exclusions). */
  only(keep: readonly string[], extra = ''): string {
    const ms = this.matchers.filter((m) => keep.some((k) => m.startsWith(`${k}=`)));
    return [...ms, ...(extra ? [extra] : [])].join(', ');
  }
}

// ------------------------------------------------------------------ variables

export function datasourceVariable(): dashboard.DatasourceVariableBuilder {
  return new dashboard.DatasourceVariableBuilder('datasource').label('Data source').type('prometheus');
}

/**
 * A query variable refreshed on time-range change. `allValue` is '.+' for job and instance (the
 * linter's rule: those labels always exist) and '.*' for labels a setup may not have (cluster, or
 * consortium outside Kubernetes), so that "All" also matches series without them.
 */
export function queryVariable(
  name: string,
  label: string,
  query: string,
  allValue: '.+' | '.*',
  description: string,
): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .description(description)
    .datasource(DATASOURCE)
    .query({ qryType: 1, query, refId: `PrometheusVariableQueryEditor-VariableQuery` })
    .definition(query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue(allValue)
    .current({ selected: true, text: ['All'], value: ['$__all'] });
}

// ------------------------------------------------------------------ panels

export interface Query {
  expr: string;
  legend?: string;
  /** Instant query (tables and stats of "now"); default: range. */
  instant?: boolean;
  table?: boolean;
}

function target(q: Query, i: number): prometheus.DataqueryBuilder {
  const t = new prometheus.DataqueryBuilder()
    .expr(q.expr)
    .refId(String.fromCharCode(65 + i))
    .datasource(DATASOURCE);
  if (q.legend !== undefined) t.legendFormat(q.legend);
  if (q.table) t.format(prometheus.PromQueryFormat.Table);
  return q.instant ? t.instant() : t.range();
}

interface PanelOptions {
  title: string;
  description: string;
  unit: string;
  queries: Query[];
  /** Width in grid columns (of 24) and height in rows. */
  span?: number;
  height?: number;
  min?: number;
  max?: number;
  decimals?: number;
  /** Threshold steps after the base (green): [value, color]. */
  thresholds?: [number, string][];
}

function thresholds(steps: [number, string][] | undefined): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps([
      { value: null as unknown as number, color: 'green' },
      ...(steps ?? []).map(([value, color]) => ({ value, color })),
    ]);
}

export function timeseriesPanel(
  o: PanelOptions & { stack?: boolean; showThresholds?: boolean },
): timeseries.PanelBuilder {
  const p = new timeseries.PanelBuilder()
    .title(o.title)
    .description(o.description)
    .datasource(DATASOURCE)
    .unit(o.unit)
    .span(o.span ?? 12)
    .height(o.height ?? 8)
    .lineWidth(1)
    .fillOpacity(o.stack ? 30 : 10)
    .thresholds(thresholds(o.thresholds))
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Bottom)
        .calcs(['mean', 'max', 'lastNotNull']),
    )
    .tooltip(
      new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending),
    );
  if (o.stack) p.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal).group('A'));
  if (o.showThresholds)
    p.thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed));
  if (o.min !== undefined) p.min(o.min);
  if (o.max !== undefined) p.max(o.max);
  if (o.decimals !== undefined) p.decimals(o.decimals);
  o.queries.forEach((q, i) => {
    p.withTarget(target(q, i));
  });
  return p;
}

export function statPanel(o: PanelOptions): stat.PanelBuilder {
  const p = new stat.PanelBuilder()
    .title(o.title)
    .description(o.description)
    .datasource(DATASOURCE)
    .unit(o.unit)
    .span(o.span ?? 4)
    .height(o.height ?? 4)
    .thresholds(thresholds(o.thresholds))
    .graphMode(common.BigValueGraphMode.Area)
    .colorMode(common.BigValueColorMode.Value)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
  if (o.decimals !== undefined) p.decimals(o.decimals);
  if (o.min !== undefined) p.min(o.min);
  o.queries.forEach((q, i) => {
    p.withTarget(target(q, i));
  });
  return p;
}

/** A table of instant queries joined on their labels (Grafana's merge transformation). */
export function tablePanel(
  o: PanelOptions & { rename: Record<string, string>; hide?: string[]; sortBy?: string },
): table.PanelBuilder {
  const p = new table.PanelBuilder()
    .title(o.title)
    .description(o.description)
    .datasource(DATASOURCE)
    .unit(o.unit)
    .span(o.span ?? 24)
    .height(o.height ?? 8)
    .thresholds(thresholds(o.thresholds))
    .withTransformation({ id: 'merge', options: {} })
    .withTransformation({
      id: 'organize',
      options: {
        excludeByName: Object.fromEntries(['Time', ...(o.hide ?? [])].map((k) => [k, true])),
        renameByName: o.rename,
      },
    });
  if (o.sortBy) p.sortBy([new common.TableSortByFieldStateBuilder().displayName(o.sortBy).desc(true)]);
  o.queries.forEach((q, i) => {
    p.withTarget(target({ ...q, instant: true, table: true }, i));
  });
  return p;
}

export function row(title: string): dashboard.RowBuilder {
  return new dashboard.RowBuilder(title);
}

type AnyPanel = dashboard.Panel | dashboard.RowPanel;

/**
 * The dashboard as Grafana stores it: rows expanded (Grafana keeps an expanded row's panels after
 * it, not inside it; the SDK nests them, which is the collapsed form) and panel ids numbered in
 * order (the SDK leaves ids to the caller; Grafana needs them unique). The SDK has already laid
 * out every panel's gridPos for expanded rows.
 */
export function finalize(d: dashboard.DashboardBuilder): dashboard.Dashboard {
  const built = d.build();
  const flat: AnyPanel[] = [];
  for (const p of (built.panels ?? []) as AnyPanel[]) {
    if (p.type === 'row') {
      const r = p as dashboard.RowPanel;
      const children = r.panels ?? [];
      flat.push({ ...r, collapsed: false, panels: [] }, ...children);
    } else {
      flat.push(p);
    }
  }
  flat.forEach((p, i) => {
    p.id = i + 1;
  });
  built.panels = flat;
  return built;
}

export function baseDashboard(
  uid: string,
  title: string,
  description: string,
  tags: string[],
): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['consortia', ...tags])
    .readonly() // provisioned from the chart: edits belong in dashboards-src
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from: 'now-3h', to: 'now' })
    .timezone('browser');
}
