import { defineConfig } from 'vitest/config';

// One runner for every package. Integration suites that start emulators or browsers are slow to
// boot, so the timeouts are generous; each suite still stops what it starts.
export default defineConfig({
  test: {
    include: [
      'shared/test/**/*.test.ts',
      'shared/gbdt/test/**/*.test.ts',
      'services/*/test/**/*.test.ts',
      'cli/test/**/*.test.ts',
      'bench/test/**/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
