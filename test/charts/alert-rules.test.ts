/**
 * The shipped alert rules against Prometheus' own tools: `promtool check rules --lint=all`, and
 * `promtool test rules` on the scenarios in charts/consortia/rules/tests (each alert fires in its
 * scenario; the healthy and all-nodes-down scenarios keep the others silent). promtool comes with
 * Debian's prometheus package, found or installed by .ci/tools/prometheus.sh. Also: every alert has
 * a summary, a description and a runbook_url to its runbook in docs/runbooks.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RULES = join(ROOT, 'charts/consortia/rules/consortia-alerts.yaml');
const TESTS_DIR = join(ROOT, 'charts/consortia/rules/tests');
const RUNBOOKS = join(ROOT, 'docs/runbooks');
const RUNBOOK_BASE = 'https://github.com/consortia/consortia/blob/main/docs/runbooks/';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface AlertTest {
  eval_time: string;
  alertname: string;
  exp_alerts: { exp_labels?: Record<string, string> }[];
}
interface PromtoolTest {
  name: string;
  alert_rule_test?: AlertTest[];
}

const rules = (parseYaml(readFileSync(RULES, 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);
const alerts = rules.filter((r): r is Rule & { alert: string } => typeof r.alert === 'string');
const alertNames = [...new Set(alerts.map((a) => a.alert))].sort();
const testFiles = readdirSync(TESTS_DIR)
  .filter((f) => f.endsWith('.test.yaml'))
  .sort();
const scenarios: PromtoolTest[] = testFiles.flatMap(
  (f) => (parseYaml(readFileSync(join(TESTS_DIR, f), 'utf8')) as { tests: PromtoolTest[] }).tests,
);

let promtool = '';
beforeAll(async () => {
  // Async: an apt install that blocked this worker for minutes would time out vitest's worker RPC.
  const { stdout } = await promisify(execFile)('bash', [join(ROOT, '.ci/tools/prometheus.sh')], {
    encoding: 'utf8',
    timeout: 600_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  promtool = join(dirname(stdout.trim().split('\n').pop()!), 'promtool');
}, 600_000);

function run(args: string[], cwd = ROOT): { status: number; out: string } {
  const r = spawnSync(promtool, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

describe('alert rules under promtool', () => {
  it('pass promtool check rules --lint=all', () => {
    const r = run(['check', 'rules', '--lint=all', RULES]);
    expect(r.out).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.status, r.out).toBe(0);
  });

  it('pass every promtool unit-test scenario (charts/consortia/rules/tests)', () => {
    expect(testFiles.length).toBeGreaterThanOrEqual(5);
    const r = run(['test', 'rules', ...testFiles], TESTS_DIR);
    expect(r.status, r.out).toBe(0);
    expect(r.out).not.toMatch(/FAILED/);
  }, 120_000);

  it('a scenario with a wrong expectation fails (the check can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'promtool-neg-'));
    try {
      const doc = parseYaml(readFileSync(join(TESTS_DIR, 'targets.test.yaml'), 'utf8')) as {
        rule_files: string[];
        tests: PromtoolTest[];
      };
      const healthy = doc.tests.find((t) => t.name.startsWith('healthy'))!;
      healthy.alert_rule_test = [
        {
          eval_time: '130m',
          alertname: 'ConsortiaChainHalted',
          exp_alerts: [{ exp_labels: { severity: 'critical', namespace: 'consortia-c1', consortium: 'c1' } }],
        },
      ];
      writeFileSync(join(dir, 'neg.test.yaml'), toYaml({ ...doc, rule_files: [RULES], tests: [healthy] }));
      const r = run(['test', 'rules', 'neg.test.yaml'], dir);
      expect(r.status).not.toBe(0);
      expect(r.out).toMatch(/FAILED/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every alert fires in some scenario, and stays silent in the healthy one', () => {
    const fires = new Set(
      scenarios.flatMap((s) =>
        (s.alert_rule_test ?? []).filter((t) => t.exp_alerts.length > 0).map((t) => t.alertname),
      ),
    );
    expect(alertNames.filter((a) => !fires.has(a))).toEqual([]);
    const healthy = scenarios.find((s) => s.name.startsWith('healthy'));
    const silentInHealthy = new Set(
      (healthy?.alert_rule_test ?? []).filter((t) => t.exp_alerts.length === 0).map((t) => t.alertname),
    );
    expect(alertNames.filter((a) => !silentInHealthy.has(a))).toEqual([]);
  });

  it('the all-nodes-down scenarios fire ConsortiaAllNodesDown and keep the chain alerts silent', () => {
    const down = scenarios.filter((s) => /^all nodes|^everything gone/.test(s.name));
    expect(down.length).toBeGreaterThanOrEqual(3);
    for (const s of down) {
      const t = s.alert_rule_test ?? [];
      expect(
        t.some((x) => x.alertname === 'ConsortiaAllNodesDown' && x.exp_alerts.length === 1),
        s.name,
      ).toBe(true);
      for (const quiet of ['ConsortiaChainHalted', 'ConsortiaValidatorMissingBlocks', 'ConsortiaQuorumAtRisk']) {
        expect(
          t.some((x) => x.alertname === quiet && x.exp_alerts.length === 0),
          `${s.name}: ${quiet}`,
        ).toBe(true);
      }
    }
  });
});

describe('alert annotations and runbooks', () => {
  it('every alert has a severity, summary, description and a runbook_url to docs/runbooks/<alert>.md', () => {
    for (const a of alerts) {
      expect(['critical', 'warning', 'info'], a.alert).toContain(a.labels?.severity);
      expect(a.annotations?.summary, a.alert).toBeTruthy();
      expect(a.annotations?.description, a.alert).toBeTruthy();
      expect(a.annotations?.runbook_url, a.alert).toBe(`${RUNBOOK_BASE}${a.alert}.md`);
      expect(existsSync(join(RUNBOOKS, `${a.alert}.md`)), `docs/runbooks/${a.alert}.md`).toBe(true);
    }
  });

  it('every runbook states meaning, impact, diagnosis and remedy, and belongs to an alert', () => {
    const files = readdirSync(RUNBOOKS).filter((f) => f.endsWith('.md') && f !== 'README.md');
    expect(files.map((f) => f.replace(/\.md$/, '')).sort()).toEqual(alertNames);
    for (const f of files) {
      const text = readFileSync(join(RUNBOOKS, f), 'utf8');
      expect(text.startsWith(`# ${f.replace(/\.md$/, '')}\n`), f).toBe(true);
      for (const h of ['## Meaning', '## Impact', '## Diagnosis', '## Remedy']) expect(text, `${f}: ${h}`).toContain(h);
      expect(text, `${f}: a diagnosis command or query`).toMatch(/```|PromQL/);
    }
  });

  it('keeps the shipped for: durations realistic (test-only rule files lower them, never this one)', () => {
    const seconds = (d: string): number => {
      const m = /^(\d+)([smh])$/.exec(d);
      return m ? Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'] : NaN;
    };
    for (const a of alerts) if (a.for !== undefined) expect(seconds(a.for), a.alert).toBeGreaterThanOrEqual(60);
    expect(alerts.find((a) => a.alert === 'ConsortiaAllNodesDown')?.for).toBe('5m');
  });
});
