/**
 * Helpers for tests that need the helm CLI: build/reuse it via .ci/tools/helm.sh, run it,
 * and parse `helm template` output into objects.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CHART_DIR = fileURLToPath(new URL('../../charts/consortia', import.meta.url));

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** Path of the helm binary; builds it on first use (minutes), later calls reuse the cache. */
export function helmBinary(timeoutMs = 20 * 60_000): string {
  const out = execFileSync('bash', [`${REPO_ROOT}.ci/tools/helm.sh`], {
    encoding: 'utf8',
    timeout: timeoutMs,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const path = out.trim().split('\n').pop();
  if (!path) throw new Error('helm.sh printed no path');
  return path;
}

/** Directory with the Prometheus Operator CRD YAML files (from the Go module proxy). */
export function promOperatorCrdDir(timeoutMs = 5 * 60_000): string {
  const out = execFileSync('bash', [`${REPO_ROOT}.ci/tools/helm-crds.sh`], {
    encoding: 'utf8',
    timeout: timeoutMs,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return out.trim().split('\n').pop() ?? '';
}

export function runHelm(
  helm: string,
  args: string[],
  timeoutMs = 60_000,
): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(helm, args, {
    encoding: 'utf8',
    timeout: timeoutMs,
    env: {
      ...process.env,
      HELM_CACHE_HOME: `${REPO_ROOT}.cache/helm/cache`,
      HELM_CONFIG_HOME: `${REPO_ROOT}.cache/helm/config`,
      HELM_DATA_HOME: `${REPO_ROOT}.cache/helm/data`,
    },
  });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

/** Parses multi-document YAML, dropping empty documents; throws on YAML errors. */
export function parseManifests(yamlText: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(yamlText)) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML from helm: ${doc.errors[0]!.message}`);
    const v = doc.toJSON() as K8sObject | null;
    if (v && typeof v === 'object') out.push(v);
  }
  return out;
}

/** `helm template` of charts/consortia; throws with helm's stderr on failure. */
export function renderChart(helm: string, release: string, namespace: string, sets: string[] = []): K8sObject[] {
  const args = ['template', release, CHART_DIR, '--namespace', namespace, ...sets.flatMap((s) => ['--set', s])];
  const r = runHelm(helm, args);
  if (r.status !== 0) throw new Error(`helm ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return parseManifests(r.stdout);
}

/** `helm template` with a values file made from `values`; returns the raw text (for byte comparisons) and the objects. */
export function renderChartValues(
  helm: string,
  release: string,
  namespace: string,
  values: Record<string, unknown>,
  extraArgs: string[] = [],
): { text: string; objects: K8sObject[] } {
  const dir = mkdtempSync(join(tmpdir(), 'consortia-values-'));
  try {
    const file = join(dir, 'values.json');
    writeFileSync(file, JSON.stringify(values));
    const args = ['template', release, CHART_DIR, '--namespace', namespace, '-f', file, ...extraArgs];
    const r = runHelm(helm, args);
    if (r.status !== 0) throw new Error(`helm ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
    return { text: r.stdout, objects: parseManifests(r.stdout) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
