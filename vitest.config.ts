import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // integration and lab tests open sockets and namespaces: keep them in separate forks, one file
    // at a time — a lab test runs a dozen node processes, and two of them at once on a small machine
    // stretch handshakes past the timeouts the nodes are built with (the suite is a few minutes either way)
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    // In CI also write a machine-readable summary (.ci/run prints its totals as the closing line).
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.ci/test-results.json' }]] : ['default'],
    hookTimeout: 60_000,
  },
});
