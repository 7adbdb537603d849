/**
 * Observability as SREs get it: a REAL Prometheus (Debian's package, installed by
 * .ci/tools/prometheus.sh) scrapes four real validator processes under load and evaluates the
 * shipped alert rules; every PromQL expression of the shipped Grafana dashboards runs against it.
 * (Control-plane panels are checked for validity only: no control plane runs here.)
 * Scrape labels mimic the Kubernetes ServiceMonitor: job consortia-node, namespace = consortium,
 * pod = node, and the target labels consortium, organization, role and tier.
 * Then one validator is killed (its liveness series show it missing) and finally every node: the
 * down alerts go pending and firing in /api/v1/alerts. Prometheus loads a test-only copy of the
 * shipped rules whose down alerts wait 5 s instead of minutes (`for:`); nothing else differs.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { toHex } from '../../src/chain/index.js';
import { ChainNet, freePort, waitUntil } from '../harness/chain-net.js';
import { TxLoad } from '../harness/tx-load.js';

const ROOT = resolve(import.meta.dirname, '../..');
const RULES = join(ROOT, 'charts/consortia/rules/consortia-alerts.yaml');
const DASHBOARDS = ['chain.json', 'control-plane.json'].map((f) => join(ROOT, 'charts/consortia/dashboards', f));

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}
function panelExprs(panels: Panel[]): { title: string; expr: string }[] {
  return panels.flatMap((p) => [
    ...(p.targets ?? []).filter((t) => t.expr).map((t) => ({ title: p.title ?? '', expr: t.expr! })),
    ...panelExprs(p.panels ?? []),
  ]);
}
/** What Grafana substitutes: "All" for the template variables, a rate window that fits a 1 s scrape. */
const grafanaSubstitute = (expr: string) =>
  expr
    .replaceAll('$__rate_interval', '15s')
    .replaceAll('$__range', '1m')
    .replaceAll('$job', '.+')
    .replaceAll('$instance', '.+')
    .replaceAll('$cluster', '.*')
    .replaceAll('$namespace', '.*')
    .replaceAll('$consortium', '.*');
/** The down alerts wait this long in the test-only rule file (the shipped rules wait minutes). */
const FAST_FOR = '5s';
const FAST_ALERTS = new Set(['ConsortiaNodeDown', 'ConsortiaAllNodesDown']);

const net = new ChainNet({ validators: 4, params: { blockIntervalMs: 200 } });
const load = new TxLoad(net.chainId, 40);
net.opts.accounts = load.genesisAccounts(); // funded in genesis
let prometheus: ChildProcess | undefined;
let promUrl = '';
let dir = '';
let promtool = '';

interface ActiveAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}
async function activeAlerts(): Promise<ActiveAlert[]> {
  const r = (await (await fetch(`${promUrl}/api/v1/alerts`, { signal: AbortSignal.timeout(5000) })).json()) as {
    data: { alerts: ActiveAlert[] };
  };
  return r.data.alerts;
}

async function query(expr: string): Promise<{
  status: string;
  error?: string;
  data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
}> {
  const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`, {
    signal: AbortSignal.timeout(5000),
  });
  return (await r.json()) as never;
}

beforeAll(async () => {
  // Async: an install that blocked this worker for over a minute would time out vitest's worker RPC.
  const { stdout } = await promisify(execFile)('bash', [join(ROOT, '.ci/tools/prometheus.sh')], {
    encoding: 'utf8',
    timeout: 600_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const bin = stdout.trim().split('\n').pop()!;
  promtool = join(dirname(bin), 'promtool');
  await net.init();
  await net.startAll();

  dir = mkdtempSync(join(tmpdir(), 'prom-e2e-'));
  const port = await freePort('127.0.0.1');
  promUrl = `http://127.0.0.1:${port}`;
  // The target labels the runtime's ServiceMonitor sets from the pod labels (tier: the PVC's storage class).
  const targets = net.nodes.map((n) => ({
    targets: [`${n.host}:${n.apiPort}`],
    labels: {
      namespace: net.chainId,
      pod: `node-${n.index}`,
      consortium: net.chainId,
      organization: 'org1',
      role: 'validator',
      tier: 'consortia-validator',
    },
  }));
  // Test-only rule file: the shipped rules, with the down alerts' `for:` lowered so that they fire within the test.
  const shipped = parseYaml(readFileSync(RULES, 'utf8')) as { groups: { rules: { alert?: string; for?: string }[] }[] };
  for (const r of shipped.groups.flatMap((g) => g.rules)) if (r.alert && FAST_ALERTS.has(r.alert)) r.for = FAST_FOR;
  writeFileSync(join(dir, 'rules-e2e.yaml'), toYaml(shipped));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    JSON.stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [join(dir, 'rules-e2e.yaml')],
      scrape_configs: [{ job_name: 'consortia-node', metrics_path: '/metrics', static_configs: targets }],
    }),
  );
  prometheus = spawn(
    bin,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  prometheus.stderr!.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  await waitUntil(
    async () => {
      if (prometheus?.exitCode !== null) throw new Error(`prometheus exited: ${log}`);
      return (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.ok === true;
    },
    30_000,
    'prometheus ready',
  );
  load.start(
    net.nodes.map((n) => n.api),
    100,
  );
}, 600_000);

afterAll(async () => {
  load.stop();
  prometheus?.kill('SIGTERM');
  await net.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('real Prometheus against real nodes', () => {
  it('scrapes every node and sees the chain advance with committed transactions', async () => {
    await waitUntil(
      async () => {
        const up = await query('sum(up{job="consortia-node"})');
        return Number(up.data?.result[0]?.value[1] ?? 0) === 4;
      },
      30_000,
      'all four targets up',
    );
    await waitUntil(
      async () => {
        const r = await query('min(increase(consortia_chain_txs_committed_total[10s]))');
        return Number(r.data?.result[0]?.value[1] ?? 0) > 0;
      },
      60_000,
      'committed transactions on every node',
    );
    const h = await query('min(consortia_chain_height)');
    expect(Number(h.data?.result[0]?.value[1])).toBeGreaterThan(2);
    expect(load.sent).toBeGreaterThan(0);
  });

  it('every dashboard expression is valid PromQL, and the chain panels show data', async () => {
    const exprs = DASHBOARDS.flatMap((f) =>
      panelExprs((JSON.parse(readFileSync(f, 'utf8')) as { panels: Panel[] }).panels),
    );
    expect(exprs.length).toBeGreaterThan(15);
    const empty: string[] = [];
    for (const { title, expr } of exprs) {
      const r = await query(grafanaSubstitute(expr));
      expect(r.status, `${title}: ${expr} -> ${r.error}`).toBe('success');
      if ((r.data?.result.length ?? 0) === 0) empty.push(title);
    }
    // Panels every running chain must fill (light/pruning/evidence/kubelet panels may rightly be empty here).
    for (const title of [
      'Height',
      'Throughput',
      'Commit latency p99',
      'Peers (min over nodes)',
      'Height by node',
      'Block interval',
      'Rounds per height',
      'Mempool size',
      'Validators signing',
      'Nodes up',
      'Validator liveness',
      'Blocks since each validator signed',
      'Validators signing vs quorum',
      'Voting power signing',
      'Committed tx/s by node',
      'Storage by tier and kind',
      'Storage by node',
      'Quorum of validators visible',
    ]) {
      expect(empty, `panel "${title}" has no data`).not.toContain(title);
    }
  });

  it("commits carry every validator's precommit, so a healthy chain shows no validator missing", async () => {
    const head = Number((await query('max(consortia_chain_height)')).data?.result[0]?.value[1] ?? 0);
    const counts: number[] = [];
    for (let h = head - 19; h <= head; h++) {
      const b = (await net.block(net.nodes[0]!, h)) as { lastCommit?: { signatures?: unknown[] } } | null;
      counts.push(b?.lastCommit?.signatures?.length ?? 0);
    }
    // The decision needs 3 of 4; the late 4th precommit is added before the next proposal is built.
    expect(counts.filter((c) => c === 4).length, `signatures per commit: ${counts.join(',')}`).toBeGreaterThanOrEqual(
      16,
    );
    const lag = await query(
      'max(min by (validator) (consortia_chain_height - on (job, instance) group_right consortia_validator_last_signed_height))',
    );
    expect(Number(lag.data?.result[0]?.value[1])).toBeLessThanOrEqual(5);
    const signing = await query('min(consortia_validator_set_signing)');
    expect(Number(signing.data?.result[0]?.value[1])).toBe(4);
  });

  it('the shipped alert rules pass promtool and evaluate cleanly in Prometheus', async () => {
    const out = execFileSync(promtool, ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
    let rules: { name: string; health: string; lastError?: string }[] = [];
    await waitUntil(
      async () => {
        const r = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
          data: { groups: { rules: typeof rules }[] };
        };
        rules = r.data.groups.flatMap((g) => g.rules);
        return rules.length > 0 && rules.every((x) => x.health !== 'unknown');
      },
      20_000,
      'rules evaluated',
    );
    expect(rules.filter((x) => x.health !== 'ok').map((x) => `${x.name}: ${x.lastError}`)).toEqual([]);
    // A healthy 4-validator chain fires no critical alert.
    const firing = (await query('ALERTS{alertstate="firing",severity="critical"}')).data?.result ?? [];
    expect(firing).toEqual([]);
  });

  it('a validator that stops shows as missing, by key and organization, and the quorum at risk', async () => {
    const victim = toHex(net.nodes[3]!.key.publicKey);
    await net.kill(3);
    await waitUntil(
      async () => {
        const r = await query(
          'min by (validator, validator_organization) (consortia_chain_height - on (job, instance) group_right consortia_validator_last_signed_height) > 20',
        );
        return (r.data?.result ?? []).some(
          (x) => x.metric['validator'] === victim && x.metric['validator_organization'] === 'org1',
        );
      },
      60_000,
      'the stopped validator more than 20 blocks behind',
    );
    const missing = await query(
      'min by (validator) (consortia_chain_height - on (job, instance) group_right consortia_validator_last_signed_height) > 20',
    );
    expect(missing.data?.result.map((x) => x.metric['validator'])).toEqual([victim]); // only the stopped one
    await waitUntil(
      async () =>
        Number((await query('max(consortia_validator_set_signing{pod!="node-3"})')).data?.result[0]?.value[1] ?? 0) ===
        3,
      30_000,
      '3 validators signing',
    );
    await waitUntil(
      async () =>
        (await activeAlerts()).some(
          (a) => a.labels['alertname'] === 'ConsortiaQuorumAtRisk' && a.labels['consortium'] === net.chainId,
        ),
      30_000,
      'ConsortiaQuorumAtRisk pending',
    );
    await waitUntil(
      async () =>
        (await activeAlerts()).some(
          (a) => a.labels['alertname'] === 'ConsortiaNodeDown' && a.labels['pod'] === 'node-3' && a.state === 'firing',
        ),
      30_000,
      'ConsortiaNodeDown firing for node-3',
    );
  });

  it('every node down: ConsortiaAllNodesDown goes pending, then firing, and the chain alerts stay silent', async () => {
    load.stop();
    await Promise.all(net.nodes.map((n) => net.kill(n.index)));
    const states = new Set<string>();
    await waitUntil(
      async () => {
        for (const a of await activeAlerts())
          if (a.labels['alertname'] === 'ConsortiaAllNodesDown' && a.labels['consortium'] === net.chainId)
            states.add(a.state);
        return states.has('firing');
      },
      60_000,
      'ConsortiaAllNodesDown firing',
    );
    expect([...states].sort()).toEqual(['firing', 'pending']); // polled every 200 ms: the 5 s pending phase is seen
    const alerts = await activeAlerts();
    const down = alerts
      .filter((a) => a.labels['alertname'] === 'ConsortiaNodeDown')
      .map((a) => a.labels['pod'])
      .sort();
    expect(down).toEqual(['node-0', 'node-1', 'node-2', 'node-3']);
    // Stale series: the chain alerts cannot (and must not) speak for a consortium whose nodes are all gone.
    for (const quiet of ['ConsortiaChainHalted', 'ConsortiaValidatorMissingBlocks', 'ConsortiaNoPeers']) {
      expect(
        alerts.filter((a) => a.labels['alertname'] === quiet && a.state === 'firing'),
        quiet,
      ).toEqual([]);
    }
  });
});
