/**
 * Generates charts/consortia/README.md from the chart's values.yaml (`npm run chart:docs`):
 * every key with its type, default and the text of its "# --" comment (continued by the "#"
 * lines right below it). `--check` writes nothing and exits 1 when the README is stale;
 * test/charts/chart-docs.test.ts runs the same comparison.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const CHART_DIR = fileURLToPath(new URL('../../charts/consortia/', import.meta.url));

export interface ValueDoc {
  key: string;
  type: string;
  default: string;
  description: string;
}

/** Every key of values.yaml in file order, with its "# --" description; throws naming undocumented keys. */
export function valueDocs(valuesText: string): ValueDoc[] {
  const values = parseYaml(valuesText) as Record<string, unknown>;
  const stack: { indent: number; key: string }[] = [];
  const docs: ValueDoc[] = [];
  const undocumented: string[] = [];
  let pending: { indent: number; lines: string[] } | undefined;
  for (const line of valuesText.split('\n')) {
    const doc = /^(\s*)# -- (.*)$/.exec(line);
    if (doc) {
      pending = { indent: doc[1]!.length, lines: [doc[2]!.trim()] };
      continue;
    }
    const more = /^(\s*)#(?: (.*))?$/.exec(line);
    if (more) {
      if (pending && more[1]!.length === pending.indent) pending.lines.push((more[2] ?? '').trim());
      continue;
    }
    const key = /^(\s*)([A-Za-z0-9_.-]+):(\s|$)/.exec(line);
    if (!key) {
      if (line.trim() === '') pending = undefined;
      continue;
    }
    const indent = key[1]!.length;
    while (stack.length > 0 && stack[stack.length - 1]!.indent >= indent) stack.pop();
    const path = [...stack.map((s) => s.key), key[2]!];
    stack.push({ indent, key: key[2]! });
    const description = pending && pending.indent === indent ? pending.lines.filter((l) => l !== '').join(' ') : '';
    pending = undefined;
    if (!description) undocumented.push(path.join('.'));
    const value = path.reduce<unknown>((node, k) => (node as Record<string, unknown> | undefined)?.[k], values);
    docs.push({ key: path.join('.'), type: typeOf(value), default: defaultOf(value), description });
  }
  if (undocumented.length > 0) throw new Error(`values.yaml keys without a "# --" comment: ${undocumented.join(', ')}`);
  return docs;
}

function typeOf(v: unknown): string {
  if (Array.isArray(v)) return 'list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'boolean') return 'bool';
  return 'string';
}

/** JSON of a leaf or an empty map/list; a map with keys of its own is described by its rows below. */
function defaultOf(v: unknown): string {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) return '';
  return `\`${JSON.stringify(v)}\``;
}

const cell = (s: string): string => s.replace(/\|/g, '\\|');

export function renderChartReadme(chartDir = CHART_DIR): string {
  const chart = parseYaml(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as Record<string, string>;
  const docs = valueDocs(readFileSync(join(chartDir, 'values.yaml'), 'utf8'));
  return [
    `# ${chart.name}`,
    '',
    '<!-- Generated from values.yaml by `npm run chart:docs` (.ci/tools/chart-docs.ts). Do not edit: a test fails when this file is stale. -->',
    '',
    chart.description,
    '',
    `Chart version \`${chart.version}\`, app version \`${chart.appVersion}\`, Kubernetes \`${chart.kubeVersion}\` (\`rbac.restrictToManagedNamespaces\` needs 1.30 or later).`,
    '',
    '```sh',
    'helm install consortia charts/consortia -n consortia --create-namespace \\',
    '  --set image.repository=<registry>/control-plane --set image.tag=<version> \\',
    '  --set controlPlane.nodeImage=<registry>/node:<version>',
    '```',
    '',
    'Deterministic: nothing random is rendered by a template, so `helm template` gives the same output on',
    'every run (Argo CD, Flux). Credentials: `auth.existingSecret`, or the values given in `auth.*`, or',
    'for those left empty a pre-install/pre-upgrade hook Job that generates them once into the Secret',
    "`<fullname>-generated`. Storage: `persistence.storageClass` for the control plane's own PVC and",
    "`controlPlane.config.kubernetesRuntime.storageClasses` (per node role) for the chain nodes' PVCs.",
    "Monitoring: `serviceMonitor.labels` go on the chart's ServiceMonitor and on every ServiceMonitor the",
    'runtime creates for chain nodes, `prometheusRule.labels` on the PrometheusRule.',
    '',
    '## Values',
    '',
    '| Key | Type | Default | Description |',
    '|-----|------|---------|-------------|',
    ...docs.map((d) => `| \`${d.key}\` | ${d.type} | ${cell(d.default)} | ${cell(d.description)} |`),
    '',
  ].join('\n');
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const target = join(CHART_DIR, 'README.md');
  const text = renderChartReadme();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(target, 'utf8');
    } catch {
      // missing counts as stale
    }
    if (current !== text) {
      process.stderr.write(`${target} is stale: run npm run chart:docs\n`);
      process.exit(1);
    }
  } else {
    writeFileSync(target, text);
    process.stdout.write(`wrote ${target}\n`);
  }
}
