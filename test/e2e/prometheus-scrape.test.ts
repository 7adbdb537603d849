/**
 * Observability as SREs get it: a REAL Prometheus (Debian's package, installed by
 * .ci/tools/prometheus.sh) scrapes four real validator processes under load and evaluates the
 * shipped alert rules; every PromQL expression of the shipped Grafana dashboards runs against it.
 * (Control-plane panels are checked for validity only: no control plane runs here.)
 * Scrape labels mimic the Kubernetes ServiceMonitor: namespace = consortium, pod = node.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainNet, freePort, waitUntil } from './support/chain-net.js';
import { TxLoad } from './support/tx-load.js';

const ROOT = resolve(import.meta.dirname, '../..');
const RULES = join(ROOT, 'charts/consortia/rules/consortia-alerts.yaml');
const DASHBOARDS = ['chain.json', 'control-plane.json'].map((f) => join(ROOT, 'charts/consortia/dashboards', f));

interface Panel { title?: string; targets?: { expr?: string }[]; panels?: Panel[] }
function panelExprs(panels: Panel[]): { title: string; expr: string }[] {
  return panels.flatMap((p) => [
    ...(p.targets ?? []).filter((t) => t.expr).map((t) => ({ title: p.title ?? '', expr: t.expr! })),
    ...panelExprs(p.panels ?? []),
  ]);
}
/** What Grafana substitutes: "All" for the template variables, a rate window that fits a 1 s scrape. */
const grafanaSubstitute = (expr: string) => expr.replaceAll('$__rate_interval', '15s').replaceAll('$namespace', '.*').replaceAll('$pod', '.*');

const net = new ChainNet({ validators: 4, params: { blockIntervalMs: 200 } });
const load = new TxLoad(net.chainId, 40);
net.opts.accounts = load.genesisAccounts(); // funded in genesis
let prometheus: ChildProcess | undefined;
let promUrl = '';
let dir = '';
let promtool = '';

async function query(expr: string): Promise<{ status: string; error?: string; data?: { result: { value: [number, string] }[] } }> {
  const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(5000) });
  return (await r.json()) as never;
}

beforeAll(async () => {
  // Async: an install that blocked this worker for over a minute would time out vitest's worker RPC.
  const { stdout } = await promisify(execFile)('bash', [join(ROOT, '.ci/tools/prometheus.sh')], { encoding: 'utf8', timeout: 600_000, maxBuffer: 16 * 1024 * 1024 });
  const bin = stdout.trim().split('\n').pop()!;
  promtool = join(dirname(bin), 'promtool');
  await net.init();
  await net.startAll();

  dir = mkdtempSync(join(tmpdir(), 'prom-e2e-'));
  const port = await freePort('127.0.0.1');
  promUrl = `http://127.0.0.1:${port}`;
  const targets = net.nodes.map((n) => ({ targets: [`${n.host}:${n.apiPort}`], labels: { namespace: net.chainId, pod: `node-${n.index}` } }));
  writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify({
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: [RULES],
    scrape_configs: [{ job_name: 'consortia-nodes', metrics_path: '/metrics', static_configs: targets }],
  }));
  prometheus = spawn(bin, [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  prometheus.stderr!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-4000); });
  await waitUntil(async () => {
    if (prometheus?.exitCode !== null) throw new Error(`prometheus exited: ${log}`);
    return (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.ok === true;
  }, 30_000, 'prometheus ready');
  load.start(net.nodes.map((n) => n.api), 100);
}, 600_000);

afterAll(async () => {
  load.stop();
  prometheus?.kill('SIGTERM');
  await net.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('real Prometheus against real nodes', () => {
  it('scrapes every node and sees the chain advance with committed transactions', async () => {
    await waitUntil(async () => {
      const up = await query('sum(up{job="consortia-nodes"})');
      return Number(up.data?.result[0]?.value[1] ?? 0) === 4;
    }, 30_000, 'all four targets up');
    await waitUntil(async () => {
      const r = await query('min(increase(consortia_chain_txs_committed_total[10s]))');
      return Number(r.data?.result[0]?.value[1] ?? 0) > 0;
    }, 60_000, 'committed transactions on every node');
    const h = await query('min(consortia_chain_height)');
    expect(Number(h.data?.result[0]?.value[1])).toBeGreaterThan(2);
    expect(load.sent).toBeGreaterThan(0);
  });

  it('every dashboard expression is valid PromQL, and the chain panels show data', async () => {
    const exprs = DASHBOARDS.flatMap((f) => panelExprs((JSON.parse(readFileSync(f, 'utf8')) as { panels: Panel[] }).panels));
    expect(exprs.length).toBeGreaterThan(15);
    const empty: string[] = [];
    for (const { title, expr } of exprs) {
      const r = await query(grafanaSubstitute(expr));
      expect(r.status, `${title}: ${expr} -> ${r.error}`).toBe('success');
      if ((r.data?.result.length ?? 0) === 0) empty.push(title);
    }
    // Panels every running chain must fill (light/pruning/evidence panels may rightly be empty here).
    for (const title of ['Height', 'Throughput', 'Commit latency p99', 'Peers (min over nodes)', 'Height by node', 'Block interval', 'Rounds per height', 'Mempool size']) {
      expect(empty, `panel "${title}" has no data`).not.toContain(title);
    }
  });

  it('the shipped alert rules pass promtool and evaluate cleanly in Prometheus', async () => {
    const out = execFileSync(promtool, ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
    let rules: { name: string; health: string; lastError?: string }[] = [];
    await waitUntil(async () => {
      const r = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: { rules: typeof rules }[] } };
      rules = r.data.groups.flatMap((g) => g.rules);
      return rules.length > 0 && rules.every((x) => x.health !== 'unknown');
    }, 20_000, 'rules evaluated');
    expect(rules.filter((x) => x.health !== 'ok').map((x) => `${x.name}: ${x.lastError}`)).toEqual([]);
    // A healthy 4-validator chain fires no critical alert.
    const firing = (await query('ALERTS{alertstate="firing",severity="critical"}')).data?.result ?? [];
    expect(firing).toEqual([]);
  });
});
