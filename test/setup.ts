/**
 * Runs before every test file: names the running test in TSOCAT_TEST_ID, which
 * tsocat processes (and the library in this process) write into the option
 * trace of the ablation check (scripts/ablate.mjs), and sets the test's deadline
 * for the helpers' waits. Costs nothing otherwise.
 */
import { relative } from 'node:path';
import { afterEach, beforeEach } from 'vitest';

beforeEach((ctx) => {
  const names: string[] = [];
  for (let t: { name: string; suite?: unknown; type?: string } | undefined = ctx.task; t; t = t.suite as typeof t) {
    if (t.suite) names.unshift(t.name); // the file's own suite has no parent and is not part of the name
  }
  process.env.TSOCAT_TEST_ID = `${relative(process.cwd(), ctx.task.file.filepath)}\t${names.join(' ')}`;
  // the helpers' waits end before this, so a slow machine shows their message, not vitest's (test/helpers.ts withinTest)
  (globalThis as { tsocatTestDeadline?: number }).tsocatTestDeadline = Date.now() + ctx.task.timeout;
});

// a later describe's beforeAll is not the test's: its waits keep the bound they ask for
afterEach(() => {
  (globalThis as { tsocatTestDeadline?: number }).tsocatTestDeadline = undefined;
});
