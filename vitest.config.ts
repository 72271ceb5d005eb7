import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // integration and lab tests open sockets and namespaces: keep them in separate forks
    pool: 'forks',
    testTimeout: 60_000,
    // In CI also write a machine-readable summary (.ci/run prints its totals as the closing line).
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.ci/test-results.json' }]] : ['default'],
    hookTimeout: 60_000,
  },
});
