import { defineConfig } from 'vitest/config';

// End-to-end tests: the built app served with its real headers, driven in Debian Chromium.
export default defineConfig({
  test: {
    include: ['e2e/**/*.e2e.ts'],
    environment: 'node',
    globalSetup: ['e2e/globalSetup.ts'],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    // One browser at a time: the machine has two cores and each test trains a model.
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    sequence: { concurrent: false },
    reporters: ['verbose'],
  },
});
