import { defineConfig } from 'vitest/config';

// The real one-node cluster (test/k8s/cluster): kubelet + containerd run our images as pods.
// globalSetup builds or reuses binaries and images, starts the cluster once and tears it down.
export default defineConfig({
  test: {
    name: 'cluster',
    include: ['test/k8s/cluster/**/*.test.ts'],
    setupFiles: ['test/harness/turn-per-test.ts'],
    globalSetup: ['test/k8s/cluster/global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    // The steps of a file build on each other (a consortium lives through them).
    sequence: { concurrent: false },
    bail: 1,
  },
});
