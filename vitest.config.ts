import { defineConfig } from 'vitest/config';

// Two projects: fast in-process unit tests, and multi-process e2e tests that spawn
// the compiled chain node / control plane from dist/ (built by `npm test` first).
export default defineConfig({
  test: {
    // Each e2e file starts its own processes on loopback: files run one at a time so that two
    // 4-validator networks never share the cores (vitest takes this only at the root, not per project).
    fileParallelism: false,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**', 'test/k8s/**', 'node_modules/**'],
          setupFiles: ['test/harness/turn-per-test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          setupFiles: ['test/harness/turn-per-test.ts'],
          testTimeout: 240_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
