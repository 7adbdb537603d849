import { defineConfig } from 'vitest/config';

// Suite against a real kube-apiserver + etcd (test/k8s). globalSetup builds or reuses the
// binaries once (.ci/tools/*.sh); each file starts its own API server on loopback.
export default defineConfig({
  test: {
    name: 'k8s',
    include: ['test/k8s/**/*.test.ts'],
    // The real-cluster suite has its own config (vitest.cluster.config.ts).
    exclude: ['test/k8s/cluster/**', 'node_modules/**'],
    setupFiles: ['test/harness/turn-per-test.ts'],
    globalSetup: ['test/k8s/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Each file runs its own API server; one at a time on 2 cores.
    fileParallelism: false,
  },
});
