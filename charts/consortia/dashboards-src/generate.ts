/**
 * Writes the chart's dashboards (../dashboards/<name>.json) from their TypeScript sources:
 * `npm run dashboards`. With --check, writes nothing and exits 1 when a committed file differs
 * (test/charts/dashboards-generated.test.ts does the same check).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DASHBOARDS, renderDashboard } from './index.js';

const dir = fileURLToPath(new URL('../dashboards/', import.meta.url));
const check = process.argv.includes('--check');
let stale = 0;
for (const [file, build] of Object.entries(DASHBOARDS)) {
  const path = `${dir}${file}`;
  const text = renderDashboard(build());
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    /* new file */
  }
  if (current === text) continue;
  if (check) {
    stale++;
    process.stderr.write(`stale: charts/consortia/dashboards/${file} (run npm run dashboards)\n`);
  } else {
    writeFileSync(path, text);
    process.stdout.write(`wrote charts/consortia/dashboards/${file}\n`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
