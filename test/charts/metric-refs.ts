/**
 * Finds the metric names that PromQL expressions (Grafana panels, template variables and
 * Prometheus alert rules) refer to, so that a test can check them against the names the
 * code exports. Deliberately small: strips strings, label matchers, ranges, grouping
 * label lists and Grafana variables, then keeps identifiers that are not functions,
 * aggregations or keywords.
 */
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'atan2',
  'inf',
  'nan',
]);

export function metricNamesInPromQL(expr: string): string[] {
  let s = expr;
  s = s.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' '); // string literals
  s = s.replace(/\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\[\[[^\]]*\]\]/g, ' '); // Grafana variables
  s = s.replace(/\{[^}]*\}/g, ' '); // label matchers
  s = s.replace(/\[[^\]]*\]/g, ' '); // ranges and subqueries
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // grouping labels
  s = s.replace(/\boffset\s+-?[0-9][0-9a-z]*/g, ' '); // offset durations
  const names = new Set<string>();
  const token = /(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|([A-Za-z_:][A-Za-z0-9_:]*)/g;
  for (let m = token.exec(s); m !== null; m = token.exec(s)) {
    const ident = m[2];
    if (ident === undefined || KEYWORDS.has(ident.toLowerCase())) continue;
    const rest = s.slice(token.lastIndex);
    if (/^\s*\(/.test(rest)) continue; // a function or an aggregation operator
    names.add(ident);
  }
  return [...names];
}

/** Grafana template-variable queries: label_values(metric, label), query_result(expr), or plain PromQL. */
export function metricNamesInVariableQuery(query: string): string[] {
  const q = query.trim();
  const lv = /^label_values\(\s*(.*?)\s*,\s*[A-Za-z_][A-Za-z0-9_]*\s*\)$/s.exec(q);
  if (lv?.[1] !== undefined) return metricNamesInPromQL(lv[1]);
  if (/^label_values\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\)$/.test(q)) return []; // label only, no metric
  if (/^label_names\(\s*\)$/.test(q) || /^metrics\(/.test(q)) return [];
  const qr = /^query_result\((.*)\)$/s.exec(q);
  if (qr?.[1] !== undefined) return metricNamesInPromQL(qr[1]);
  return metricNamesInPromQL(q);
}

/** Names a scrape produces for an exported metric: histograms add _bucket/_sum/_count series. */
export function isExported(name: string, exported: ReadonlySet<string>): boolean {
  if (exported.has(name)) return true;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  return m?.[1] !== undefined && exported.has(m[1]);
}

export interface ExprRef {
  where: string; // e.g. "chain.json panel 'Height' A"
  expr: string;
}

interface GrafanaPanel {
  title?: string;
  type?: string;
  targets?: { refId?: string; expr?: string }[];
  panels?: GrafanaPanel[];
}
interface GrafanaDashboard {
  panels?: GrafanaPanel[];
  templating?: { list?: { name?: string; type?: string; query?: unknown; definition?: string }[] };
}

/** Every PromQL expression of a dashboard (panels, nested row panels, query variables). */
export function dashboardExpressions(
  file: string,
  dash: GrafanaDashboard,
): { panels: ExprRef[]; variables: ExprRef[] } {
  const panels: ExprRef[] = [];
  const walk = (list: GrafanaPanel[] | undefined): void => {
    for (const p of list ?? []) {
      for (const t of p.targets ?? []) {
        if (typeof t.expr === 'string')
          panels.push({ where: `${file} panel '${p.title ?? '?'}' ${t.refId ?? ''}`, expr: t.expr });
      }
      walk(p.panels);
    }
  };
  walk(dash.panels);
  const variables: ExprRef[] = [];
  for (const v of dash.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
    if (typeof q === 'string') variables.push({ where: `${file} variable '${v.name ?? '?'}'`, expr: q });
  }
  return { panels, variables };
}

interface RuleFile {
  groups?: { name?: string; rules?: { alert?: string; record?: string; expr?: string }[] }[];
}

/** Every alert/record expression of a PrometheusRule spec (or a Prometheus rule file). */
export function ruleExpressions(file: string, rules: RuleFile): ExprRef[] {
  const out: ExprRef[] = [];
  for (const g of rules.groups ?? []) {
    for (const r of g.rules ?? []) {
      if (typeof r.expr === 'string') out.push({ where: `${file} ${r.alert ?? r.record ?? '?'}`, expr: r.expr });
    }
  }
  return out;
}

/** Names referenced by the expressions that the code does not export, with where they occur. */
export function unknownMetricRefs(refs: ExprRef[], exported: ReadonlySet<string>, variableQueries = false): string[] {
  const problems: string[] = [];
  for (const r of refs) {
    const names = variableQueries ? metricNamesInVariableQuery(r.expr) : metricNamesInPromQL(r.expr);
    for (const n of names)
      if (!isExported(n, exported)) problems.push(`${r.where}: unknown metric '${n}' in ${r.expr}`);
  }
  return problems;
}
