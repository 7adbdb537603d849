import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DASHBOARDS, renderDashboard } from '../../charts/consortia/dashboards-src/index.js';

// The chart ships dashboards/*.json generated from dashboards-src/*.ts (Grafana foundation SDK):
// a committed JSON that differs from what its source generates is stale.
const DIR = fileURLToPath(new URL('../../charts/consortia/dashboards/', import.meta.url));

describe('dashboards as code', () => {
  it('generates exactly the dashboards the chart ships', () => {
    expect(Object.keys(DASHBOARDS).sort()).toEqual(['chain.json', 'control-plane.json']);
  });

  for (const [file, build] of Object.entries(DASHBOARDS)) {
    it(`${file} is up to date with its source (else: npm run dashboards)`, () => {
      expect(
        readFileSync(join(DIR, file), 'utf8') === renderDashboard(build()),
        `charts/consortia/dashboards/${file} is stale: run npm run dashboards`,
      ).toBe(true);
    });
  }

  it('the staleness check can fail: a changed source renders differently', () => {
    const d = DASHBOARDS['chain.json']!();
    const text = renderDashboard({ ...d, title: `${d.title} (edited)` });
    expect(text === readFileSync(join(DIR, 'chain.json'), 'utf8')).toBe(false);
  });

  it('has the variables SREs filter by, and the panels the review asked for', () => {
    const chain = DASHBOARDS['chain.json']!();
    const cp = DASHBOARDS['control-plane.json']!();
    const names = (d: typeof chain) => (d.templating?.list ?? []).map((v) => v.name);
    expect(names(chain)).toEqual(['datasource', 'cluster', 'namespace', 'consortium', 'job', 'instance']);
    expect(names(cp)).toEqual(['datasource', 'cluster', 'namespace', 'job', 'instance']);
    const titles = (d: typeof chain) => (d.panels ?? []).map((p) => p.title);
    expect(titles(chain)).toEqual(
      expect.arrayContaining([
        'Validator liveness',
        'Committed tx/s by node',
        'Storage by tier and kind',
        'Storage growth by tier (per day)',
        'PVC fill by tier',
      ]),
    );
    expect(titles(cp)).toEqual(
      expect.arrayContaining([
        'Reconcile backlog',
        'Oldest backlog item',
        'Proposal duration by outcome (mean)',
        'Key ceremony duration by phase (mean)',
      ]),
    );
  });
});
