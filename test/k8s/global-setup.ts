import type { TestProject } from 'vitest/node';
import { ensureKubeBinaries } from './env/binaries.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeBinaries: { kubeApiserver: string; etcd: string };
  }
}

/** Builds (cold: tens of minutes) or reuses kube-apiserver and etcd once for the whole suite. */
export default function setup(project: TestProject): void {
  const started = Date.now();
  const bins = ensureKubeBinaries();
  process.stderr.write(`[k8s] kube-apiserver: ${bins.kubeApiserver}\n[k8s] etcd: ${bins.etcd}\n[k8s] binaries ready in ${Date.now() - started} ms\n`);
  project.provide('kubeBinaries', bins);
}
