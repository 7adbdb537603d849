import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CHART_DIR, renderChartReadme, valueDocs } from '../../.ci/tools/chart-docs.js';

// charts/consortia/README.md is generated from values.yaml (`npm run chart:docs`): it must list
// every value and be exactly what the generator writes today.
describe('chart README (npm run chart:docs)', () => {
  const valuesText = readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8');

  it('is up to date with values.yaml', () => {
    const current = readFileSync(join(CHART_DIR, 'README.md'), 'utf8');
    expect(current, 'charts/consortia/README.md is stale: run `npm run chart:docs`').toBe(renderChartReadme());
  });

  it('lists every key of values.yaml with its default and description', () => {
    const docs = valueDocs(valuesText);
    const leaves: string[] = [];
    const walk = (v: unknown, path: string): void => {
      leaves.push(path);
      if (v && typeof v === 'object' && !Array.isArray(v))
        for (const [k, c] of Object.entries(v)) walk(c, path ? `${path}.${k}` : k);
    };
    walk(parseYaml(valuesText), '');
    expect(docs.map((d) => d.key).sort()).toEqual(leaves.filter((p) => p !== '').sort());
    for (const d of docs) expect(d.description, d.key).not.toBe('');
    const readme = renderChartReadme();
    for (const d of docs) expect(readme).toContain(`| \`${d.key}\` |`);
    expect(docs.find((d) => d.key === 'auth.encryptionKey')!.description).toMatch(/openssl rand -hex 32/);
    expect(docs.find((d) => d.key === 'replicaCount')).toMatchObject({ type: 'int', default: '`1`' });
  });

  it('the check fails on an undocumented key and on a stale README (the test can fail)', () => {
    expect(() => valueDocs('# -- documented\na: 1\nb: 2\n')).toThrow(/b/);
    expect(valueDocs('# -- first line\n# second line\na: 1\n')[0]!.description).toBe('first line second line');
    expect(renderChartReadme()).not.toBe(renderChartReadme().replace('| `replicaCount` |', '| `replicas` |'));
  });
});
