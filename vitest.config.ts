import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 30000,
    hookTimeout: 30000,
    // integration tests spawn many processes; two workers match CI's two cores
    maxWorkers: 2,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
