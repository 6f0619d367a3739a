import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Tests run the TypeScript sources: the workspaces' `@mlops/source` export condition points at
// src/*.ts (the default one at the compiled dist/*.js that the image runs). The rest is vitest's
// own default for Node (no `module` condition, no main fields).
const conditions = ['@mlops/source', ...defaultServerConditions.filter((condition) => condition !== 'module')];

// One runner for every package. Integration suites that start emulators or browsers are slow to
// boot, so the timeouts are generous; each suite still stops what it starts.
export default defineConfig({
  ssr: { resolve: { conditions, mainFields: [] } },
  test: {
    // Child processes a test starts with node or tsx inherit the condition too.
    env: { NODE_OPTIONS: [process.env.NODE_OPTIONS, '--conditions=@mlops/source'].filter(Boolean).join(' ') },
    include: [
      'shared/*/test/**/*.test.ts',
      'services/*/test/**/*.test.ts',
      'cli/test/**/*.test.ts',
      'bench/test/**/*.test.ts',
      'infra/test/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
