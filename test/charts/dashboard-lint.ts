/**
 * The checks of Grafana's dashboard linter (github.com/grafana/dashboard-linter, rule names kept),
 * reimplemented here because its Go module is not served by the module proxy this project uses:
 *
 *   template-datasource-rule        a `datasource` variable of type datasource, query prometheus, label "Data source"
 *   template-job-rule               a `job` query variable on $datasource, label "Job", multi, allValue ".+"
 *   template-instance-rule          the same for `instance` (label "Instance")
 *   template-on-time-change-reload-rule  query variables refresh on time-range change (refresh = 2)
 *   template-label-promql-rule      variable queries are label_values(<selector>, <label>) with a valid selector
 *   panel-datasource-rule           every panel and every target uses $datasource
 *   panel-title-description-rule    every panel has a title and a description
 *   panel-units-rule                every graph-like panel sets a known Grafana unit
 *   panel-no-targets-rule           every panel but rows and text has a query
 *   target-job-rule                 every selector of every query matches job=~"$job"
 *   target-instance-rule            every selector of every query matches instance=~"$instance"
 *   target-rate-interval-rule       rate() and irate() use [$__rate_interval]
 *   target-counter-agg-rule         a counter (*_total) is only used inside rate(), irate() or increase()
 *   target-promql-rule              (as far as a selector scanner can tell) queries parse: balanced braces, brackets, parentheses, quotes
 *   uneditable-dashboard            the dashboard is not editable (provisioned: its source is dashboards-src)
 *   panel-deprecated-rule           no deprecated panel types (graph, singlestat, table-old, ...) and no unknown ones
 * and one of this project's:
 *   target-scope-rule               every selector also matches the dashboard's scope variables (cluster, namespace[, consortium])
 *
 * Exclusions work like the linter's .lint file: per rule, dashboard and panel, with a reason.
 */

export interface Finding {
  rule: string;
  dashboard: string;
  where: string;
  message: string;
}
export interface Exclusion {
  rule: string;
  dashboard: string;
  panel: string;
  selector?: RegExp;
  reason: string;
}

export interface Matcher {
  name: string;
  op: string;
  value: string;
}
export interface Selector {
  metric: string | null;
  matchers: Matcher[];
  range: string | null;
  functions: string[];
}

const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const WORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'atan2']);

/** Vector selectors of a PromQL expression, each with its matchers, its range and the functions around it. */
export function vectorSelectors(expr: string): Selector[] {
  const out: Selector[] = [];
  const calls: { name: string; depth: number }[] = [];
  let depth = 0;
  let i = 0;
  let last: Selector | null = null;
  const skipSpace = (): void => {
    while (i < expr.length && /\s/.test(expr[i]!)) i++;
  };
  const readString = (): string => {
    const q = expr[i]!;
    let j = i + 1;
    let v = '';
    while (j < expr.length && expr[j] !== q) {
      if (expr[j] === '\\' && q !== '`') {
        v += expr[j + 1] ?? '';
        j += 2;
      } else {
        v += expr[j];
        j++;
      }
    }
    if (j >= expr.length) throw new Error(`unterminated string in ${expr}`);
    i = j + 1;
    return v;
  };
  const readBraces = (): Matcher[] => {
    const ms: Matcher[] = [];
    i++; // {
    for (;;) {
      skipSpace();
      if (expr[i] === '}') {
        i++;
        return ms;
      }
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(expr.slice(i))?.[0];
      if (!name) throw new Error(`bad label matcher at ${i} in ${expr}`);
      i += name.length;
      skipSpace();
      const op = /^(=~|!~|!=|=)/.exec(expr.slice(i))?.[0];
      if (!op) throw new Error(`bad matcher operator at ${i} in ${expr}`);
      i += op.length;
      skipSpace();
      if (!['"', "'", '`'].includes(expr[i] ?? '')) throw new Error(`matcher value is not a string at ${i} in ${expr}`);
      ms.push({ name, op, value: readString() });
      skipSpace();
      if (expr[i] === ',') i++;
      else if (expr[i] !== '}') throw new Error(`expected , or } at ${i} in ${expr}`);
    }
  };
  const skipParenList = (): void => {
    const close = expr.indexOf(')', i);
    if (close < 0) throw new Error(`unbalanced ( in ${expr}`);
    i = close + 1;
  };
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      readString();
      last = null;
      continue;
    }
    if (c === '[') {
      const close = expr.indexOf(']', i);
      if (close < 0) throw new Error(`unbalanced [ in ${expr}`);
      if (last) last.range = expr.slice(i + 1, close).trim();
      i = close + 1;
      last = null;
      continue;
    }
    if (c === '{') {
      const s: Selector = { metric: null, matchers: readBraces(), range: null, functions: calls.map((x) => x.name) };
      out.push(s);
      last = s;
      continue;
    }
    if (c === '(') {
      depth++;
      i++;
      last = null;
      continue;
    }
    if (c === ')') {
      depth--;
      if (depth < 0) throw new Error(`unbalanced ) in ${expr}`);
      while (calls.length > 0 && calls[calls.length - 1]!.depth > depth) calls.pop();
      i++;
      last = null;
      continue;
    }
    const num = /^(\d+(\.\d+)?([eE][+-]?\d+)?|0x[0-9a-fA-F]+)/.exec(expr.slice(i));
    if (num) {
      i += num[0].length;
      last = null;
      continue;
    }
    const ident = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(expr.slice(i))?.[0];
    if (ident) {
      i += ident.length;
      skipSpace();
      const lower = ident.toLowerCase();
      if (GROUPING.has(lower)) {
        if (expr[i] === '(') skipParenList();
        last = null;
        continue;
      }
      if (WORDS.has(lower)) {
        if (lower === 'offset') {
          const d = /^-?[0-9a-z]+/.exec(expr.slice(i));
          if (d) i += d[0].length;
        }
        last = null;
        continue;
      }
      if (expr[i] === '(') {
        calls.push({ name: ident, depth: depth + 1 });
        continue;
      }
      // `sum by (x) (...)` / `sum (...) by (x)`: an aggregation whose grouping comes first
      if (/^(by|without)\s*\(/.test(expr.slice(i))) {
        const close = expr.indexOf(')', i);
        i = close + 1;
        skipSpace();
        calls.push({ name: ident, depth: depth + 1 });
        continue;
      }
      const s: Selector = {
        metric: ident,
        matchers: expr[i] === '{' ? readBraces() : [],
        range: null,
        functions: calls.map((x) => x.name),
      };
      out.push(s);
      last = s;
      continue;
    }
    if ('+-*/%^=!<>,'.includes(c)) {
      i++;
      last = null;
      continue;
    }
    throw new Error(`unexpected '${c}' at ${i} in ${expr}`);
  }
  if (depth !== 0) throw new Error(`unbalanced ( in ${expr}`);
  return out;
}

/** Grafana unit ids the panels may use (a subset of Grafana's list: what these dashboards need, and the common ones). */
export const VALID_UNITS = new Set([
  'none',
  'short',
  'percent',
  'percentunit',
  'bytes',
  'decbytes',
  'bits',
  'Bps',
  'bps',
  'KBs',
  'MBs',
  's',
  'ms',
  'us',
  'ns',
  'm',
  'h',
  'd',
  'dtdurations',
  'dtdurationms',
  'ops',
  'reqps',
  'rps',
  'wps',
  'iops',
  'opm',
  'rpm',
  'cps',
  'locale',
  'dateTimeAsIso',
  'bool',
  'bool_yes_no',
]);
const CURRENT_PANELS = new Set([
  'row',
  'timeseries',
  'stat',
  'gauge',
  'bargauge',
  'table',
  'text',
  'heatmap',
  'histogram',
  'barchart',
  'piechart',
  'state-timeline',
  'status-history',
  'logs',
  'nodeGraph',
  'dashlist',
  'alertlist',
  'news',
]);
const DEPRECATED_PANELS = new Set([
  'graph',
  'singlestat',
  'table-old',
  'grafana-piechart-panel',
  'grafana-worldmap-panel',
  'grafana-singlestat-panel',
  'graph-old',
]);
const UNIT_PANELS = new Set([
  'timeseries',
  'stat',
  'gauge',
  'bargauge',
  'table',
  'barchart',
  'histogram',
  'state-timeline',
  'status-history',
]);
const DS = new Set(['${datasource}', '$datasource']);

interface Variable {
  name?: string;
  type?: string;
  label?: string;
  query?: unknown;
  datasource?: { uid?: string };
  multi?: boolean;
  allValue?: string;
  refresh?: number;
}
interface Panel {
  id?: number;
  type?: string;
  title?: string;
  description?: string;
  datasource?: { uid?: string };
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: { expr?: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}
export interface Dashboard {
  editable?: boolean;
  templating?: { list?: Variable[] };
  panels?: Panel[];
}

const variableQuery = (v: Variable): string | undefined =>
  typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;

/** All findings of the rules above on one dashboard (after exclusions). `scope` names the variables every selector must match besides job and instance. */
export function lintDashboard(file: string, d: Dashboard, scope: string[], exclusions: Exclusion[] = []): Finding[] {
  const findings: Finding[] = [];
  const add = (rule: string, where: string, message: string, panel = '', selector?: string): void => {
    if (
      exclusions.some(
        (e) =>
          e.rule === rule &&
          e.dashboard === file &&
          e.panel === panel &&
          (!e.selector || (selector !== undefined && e.selector.test(selector))),
      )
    )
      return;
    findings.push({ rule, dashboard: file, where, message });
  };
  const vars = d.templating?.list ?? [];

  if (d.editable !== false) add('uneditable-dashboard', 'dashboard', 'dashboard is editable');
  const dsVars = vars.filter((v) => v.type === 'datasource');
  if (dsVars.length !== 1)
    add('template-datasource-rule', 'templating', `expected one datasource variable, found ${dsVars.length}`);
  for (const v of dsVars) {
    if (v.name !== 'datasource')
      add('template-datasource-rule', `variable ${v.name}`, "datasource variable should be named 'datasource'");
    if (v.query !== 'prometheus')
      add(
        'template-datasource-rule',
        `variable ${v.name}`,
        `datasource variable should query 'prometheus', is '${String(v.query)}'`,
      );
    if (v.label !== 'Data source')
      add(
        'template-datasource-rule',
        `variable ${v.name}`,
        `datasource variable should be labeled 'Data source', is '${v.label}'`,
      );
  }
  for (const [name, rule] of [
    ['job', 'template-job-rule'],
    ['instance', 'template-instance-rule'],
  ] as const) {
    const v = vars.find((x) => x.name === name);
    if (!v) {
      add(rule, 'templating', `missing the ${name} variable`);
      continue;
    }
    const label = name[0]!.toUpperCase() + name.slice(1);
    if (!DS.has(v.datasource?.uid ?? ''))
      add(rule, `variable ${name}`, `should use datasource '$datasource', uses '${v.datasource?.uid}'`);
    if (v.type !== 'query') add(rule, `variable ${name}`, `should be a query variable, is '${v.type}'`);
    if (v.label !== label) add(rule, `variable ${name}`, `should be labeled '${label}', is '${v.label}'`);
    if (!v.multi) add(rule, `variable ${name}`, 'should be a multi select');
    if (v.allValue !== '.+') add(rule, `variable ${name}`, `allValue should be '.+', is '${v.allValue}'`);
  }
  for (const s of scope)
    if (!vars.some((v) => v.name === s && v.type === 'query'))
      add('target-scope-rule', 'templating', `missing the ${s} variable`);
  const defined: string[] = [];
  for (const v of vars) {
    if (v.type === 'query') {
      if (v.refresh !== 2)
        add(
          'template-on-time-change-reload-rule',
          `variable ${v.name}`,
          `refresh should be 2 (on time range change), is ${v.refresh}`,
        );
      const q = variableQuery(v) ?? '';
      const lv = /^label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$/s.exec(q.trim());
      if (!lv)
        add('template-label-promql-rule', `variable ${v.name}`, `expected label_values(<selector>, <label>), got ${q}`);
      else {
        try {
          const sels = vectorSelectors(lv[1]!);
          if (sels.length !== 1)
            add('template-label-promql-rule', `variable ${v.name}`, `expected one selector in ${q}`);
          for (const m of sels.flatMap((x) => x.matchers)) {
            const ref = /^\$(\w+)$/.exec(m.value)?.[1];
            if (ref && !defined.includes(ref))
              add('template-label-promql-rule', `variable ${v.name}`, `refers to $${ref}, not defined before it`);
          }
        } catch (err) {
          add('template-label-promql-rule', `variable ${v.name}`, (err as Error).message);
        }
      }
    }
    if (v.name) defined.push(v.name);
  }

  const walk = (ps: Panel[] | undefined): void => {
    for (const p of ps ?? []) {
      const where = `panel '${p.title ?? p.id}'`;
      const title = p.title ?? '';
      if (DEPRECATED_PANELS.has(p.type ?? '') || !CURRENT_PANELS.has(p.type ?? ''))
        add('panel-deprecated-rule', where, `panel type '${p.type}' is deprecated or unknown`, title);
      if (p.type === 'row') {
        if (!p.title) add('panel-title-description-rule', where, 'row has no title', title);
        walk(p.panels);
        continue;
      }
      if (!p.title?.trim() || !p.description?.trim())
        add('panel-title-description-rule', where, 'panel needs a title and a description', title);
      if (p.type !== 'text' && !DS.has(p.datasource?.uid ?? ''))
        add('panel-datasource-rule', where, `panel datasource should be $datasource, is '${p.datasource?.uid}'`, title);
      if (UNIT_PANELS.has(p.type ?? '') && !VALID_UNITS.has(p.fieldConfig?.defaults?.unit ?? ''))
        add('panel-units-rule', where, `unit '${p.fieldConfig?.defaults?.unit}' is not a valid unit`, title);
      const targets = (p.targets ?? []).filter((t) => typeof t.expr === 'string' && t.expr.trim() !== '');
      if (p.type !== 'text' && targets.length === 0) add('panel-no-targets-rule', where, 'panel has no query', title);
      for (const t of p.targets ?? []) {
        if (!DS.has(t.datasource?.uid ?? p.datasource?.uid ?? ''))
          add(
            'panel-datasource-rule',
            where,
            `target datasource should be $datasource, is '${t.datasource?.uid}'`,
            title,
          );
        if (typeof t.expr !== 'string') continue;
        let sels: Selector[];
        try {
          sels = vectorSelectors(t.expr);
        } catch (err) {
          add('target-promql-rule', where, (err as Error).message, title);
          continue;
        }
        if (sels.length === 0) add('target-promql-rule', where, `no selector in ${t.expr}`, title);
        for (const s of sels) {
          const name = s.metric ?? '{...}';
          const has = (label: string): boolean =>
            s.matchers.some((m) => m.name === label && m.op === '=~' && m.value === `$${label}`);
          if (!has('job')) add('target-job-rule', where, `${name} lacks job=~"$job"`, title, name);
          if (!has('instance')) add('target-instance-rule', where, `${name} lacks instance=~"$instance"`, title, name);
          for (const v of scope)
            if (!has(v)) add('target-scope-rule', where, `${name} lacks ${v}=~"$${v}"`, title, name);
          const fn = s.functions[s.functions.length - 1];
          if ((fn === 'rate' || fn === 'irate') && s.range !== '$__rate_interval')
            add(
              'target-rate-interval-rule',
              where,
              `${fn}(${name}[${s.range}]) should use [$__rate_interval]`,
              title,
              name,
            );
          if (name.endsWith('_total') && !s.functions.some((f) => ['rate', 'irate', 'increase'].includes(f)))
            add('target-counter-agg-rule', where, `counter ${name} is not inside rate/irate/increase`, title, name);
        }
      }
    }
  };
  walk(d.panels);
  return findings;
}
