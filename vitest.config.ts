import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Real sockets and real servers: keep parallelism modest on small CI machines.
    pool: 'forks',
    // The JSON file lets .ci/run print one plain totals line.
    reporters: ['default', ['json', { outputFile: '.vitest-results.json' }]],
    maxWorkers: 2,
  },
});
