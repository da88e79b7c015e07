import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One line saying what is missing here and so skipped.
    globalSetup: ['test/helpers/missing.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: tshark-heavy suites contend otherwise.
    maxWorkers: 2,
  },
});
