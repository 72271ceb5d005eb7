import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // integration and lab tests open sockets and namespaces: keep them in separate forks
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
