import { defineConfig } from 'vitest/config';

/** What every test file shares. */
const common = {
  setupFiles: ['test/setup.ts'],
  testTimeout: 30000,
  hookTimeout: 30000,
};

export default defineConfig({
  test: {
    // once per run, in the main process: the record coverage.test.ts reads
    globalSetup: ['test/global-setup.ts'],
    // integration tests spawn many processes; two workers match CI's two cores
    maxWorkers: 2,
    reporters: ['default', './test/summary-reporter.ts'],
    // the conformance coverage check reads what this run's case files opened (test/global-setup.ts),
    // so it runs after all of them, in a group of its own
    projects: [
      { test: { ...common, name: 'tests', include: ['test/**/*.test.ts'], exclude: ['test/conformance/coverage.test.ts'] } },
      { test: { ...common, name: 'coverage', include: ['test/conformance/coverage.test.ts'], sequence: { groupOrder: 1 } } },
    ],
  },
});
