/**
 * Runs before every test file: names the running test in TSOCAT_TEST_ID, which
 * tsocat processes (and the library in this process) write into the option
 * trace of the ablation check (scripts/ablate.mjs), and sets the test's deadline
 * for the helpers' waits. Costs nothing otherwise.
 *
 * Under the batched ablation check, TSOCAT_ABLATE_PLAN names a JSON plan
 * `{ tests: { "<file>\t<test>": option }, files: { "<file>": option } }`: each
 * planned test runs with its own option ablated (TSOCAT_ABLATE, which tsocat
 * processes inherit and the library re-reads per call while a plan is set), a
 * planned file runs whole with one option ablated from its first hook on, and
 * every other test is skipped. So one vitest run checks many option/test pairs.
 * An empty option runs the test (or file) with nothing ablated: the control.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { afterEach, beforeAll, beforeEach } from 'vitest';

interface AblationPlan {
  tests: Record<string, string>;
  files: Record<string, string>;
}

const planFile = process.env.TSOCAT_ABLATE_PLAN;
const plan: AblationPlan | undefined = planFile ? JSON.parse(readFileSync(planFile, 'utf8')) : undefined;
let fileOption: string | undefined;

if (plan) {
  // biome-ignore lint/correctness/noEmptyPattern: vitest hands hooks their fixtures first and the file's suite second
  beforeAll(({}, suite) => {
    fileOption = plan.files[relative(process.cwd(), (suite as { filepath?: string }).filepath ?? '')];
    // from the file's first hook on, so processes its beforeAll starts are ablated too ('' runs it with nothing ablated)
    if (fileOption !== undefined) process.env.TSOCAT_ABLATE = fileOption;
    else delete process.env.TSOCAT_ABLATE;
  });
}

beforeEach((ctx) => {
  // the describe blocks' names and the test's, as vitest's JSON report has them (ancestorTitles, title)
  const names: string[] = [];
  for (let t: { name: string; suite?: unknown } | undefined = ctx.task; t && t !== ctx.task.file; t = t.suite as typeof t) names.unshift(t.name);
  const id = `${relative(process.cwd(), ctx.task.file.filepath)}\t${names.join(' ')}`;
  if (plan && fileOption === undefined) {
    const option = plan.tests[id];
    // a skipped test leaves the environment alone: a concurrent sibling may be running with its option
    if (option === undefined) ctx.skip('not in this ablation round');
    process.env.TSOCAT_ABLATE = option;
  }
  process.env.TSOCAT_TEST_ID = id;
  // the helpers' waits end before this, so a slow machine shows their message, not vitest's (test/helpers.ts withinTest)
  (globalThis as { tsocatTestDeadline?: number }).tsocatTestDeadline = Date.now() + ctx.task.timeout;
});

// a later describe's beforeAll is not the test's: its waits keep the bound they ask for
afterEach(() => {
  (globalThis as { tsocatTestDeadline?: number }).tsocatTestDeadline = undefined;
});
