import type { TestProject } from 'vitest/node';
import { ensureKubeBinaries } from '../harness/kube-env/binaries.js';
import { helmBinary, promOperatorCrdDir } from '../harness/helm.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeBinaries: { kubeApiserver: string; etcd: string };
    helmTools: { helm: string; promOperatorCrds: string };
  }
}

/**
 * Builds (cold: about ten minutes) or reuses the Kubernetes binaries, etcd, helm and the Prometheus Operator
 * CRDs once for the whole suite, here and not in a test file: a build that blocks a test worker
 * for over a minute makes vitest's worker RPC time out even though every test passes.
 */
export default function setup(project: TestProject): void {
  const started = Date.now();
  const bins = ensureKubeBinaries();
  process.stderr.write(
    `[k8s] kube-apiserver: ${bins.kubeApiserver}\n[k8s] etcd: ${bins.etcd}\n[k8s] binaries ready in ${Date.now() - started} ms\n`,
  );
  project.provide('kubeBinaries', bins);
  const helmStarted = Date.now();
  const helmTools = { helm: helmBinary(), promOperatorCrds: promOperatorCrdDir() };
  process.stderr.write(`[k8s] helm: ${helmTools.helm}\n[k8s] helm tools ready in ${Date.now() - helmStarted} ms\n`);
  project.provide('helmTools', helmTools);
}
