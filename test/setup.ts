/**
 * Runs before every test file: names the running test in TSOCAT_TEST_ID, which
 * tsocat processes (and the library in this process) write into the option
 * trace of the ablation check (scripts/ablate.mjs). Costs nothing otherwise.
 */
import { relative } from 'node:path';
import { beforeEach } from 'vitest';

beforeEach((ctx) => {
  const names: string[] = [];
  for (let t: { name: string; suite?: unknown; type?: string } | undefined = ctx.task; t; t = t.suite as typeof t) {
    if (t.suite) names.unshift(t.name); // the file's own suite has no parent and is not part of the name
  }
  process.env.TSOCAT_TEST_ID = `${relative(process.cwd(), ctx.task.file.filepath)}\t${names.join(' ')}`;
});
