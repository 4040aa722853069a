#!/usr/bin/env node
/**
 * The ablation check (docs/testing.md): for every catalog option and every
 * command-line flag, run the tests that use it with that one option ablated
 * (TSOCAT_ABLATE: validated, then treated as absent) and report whether any
 * test notices. An option no test notices is either untested or does nothing;
 * both are defects, unless test/ablation-exempt.json says why.
 *
 *   node scripts/ablate.mjs [--only a,b,-T] [--trace FILE] [--jobs N] [--report FILE]
 *
 * Step 1 runs the whole suite once with TSOCAT_OPTION_TRACE to learn which
 * tests use which option (or reads a trace given with --trace). Step 2 runs,
 * per option, only those tests (vitest -t; not --bail, whose JSON report drops the failure). Exit status 1 when an
 * option outside the exemption list is not caught. Unit tests do not count: they
 * see the parsed value, and ablation is about the effect.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const VITEST = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');

function parseArgs(argv) {
  const args = { only: undefined, trace: undefined, jobs: 2, report: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only') args.only = argv[++i].split(',').filter(Boolean);
    else if (a === '--trace') args.trace = argv[++i];
    else if (a === '--jobs') args.jobs = Math.max(1, Number(argv[++i]) || 1);
    else if (a === '--report') args.report = argv[++i];
    else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

/** Runs vitest with extra environment; resolves with its exit code and the JSON report's counts. */
function vitest(args, env, timeoutMs) {
  const dir = mkdtempSync(join(tmpdir(), 'tsocat-ablate-'));
  const out = join(dir, 'report.json');
  return new Promise((done) => {
    const child = spawn(process.execPath, [VITEST, 'run', '--reporter=json', `--outputFile=${out}`, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
      // its own process group: a tsocat that an ablated option left hanging (a test timed out around it) is ended with the run
      detached: true,
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => process.kill(-child.pid, 'SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is gone already: nothing was left behind
      }
      let report;
      try {
        report = JSON.parse(readFileSync(out, 'utf8'));
      } catch {
        report = undefined;
      }
      rmSync(dir, { recursive: true, force: true });
      done({ code, report, stderr, timedOut: code === null });
    });
  });
}

/** option → Map(file → Set(test name)) from the trace lines `file\ttest\toption`. */
function readTrace(path) {
  const uses = new Map();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const [file, test, option] = line.split('\t');
    // unit tests check parsing, which ablation leaves intact; only tests of the effect count
    if (!option || file === '-' || file.startsWith('test/unit/')) continue;
    if (!uses.has(option)) uses.set(option, new Map());
    const files = uses.get(option);
    if (!files.has(file)) files.set(file, new Set());
    files.get(file).add(test);
  }
  return uses;
}

const escapeRegex = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

async function candidates() {
  const { allOptions } = await import(join(ROOT, 'dist/options/catalog.js'));
  const { loadCatalog } = await import(join(ROOT, 'dist/options/index.js'));
  const { FLAG_KEYS } = await import(join(ROOT, 'dist/src/cli/flags.js'));
  await loadCatalog();
  return [...allOptions().map((o) => o.name), ...FLAG_KEYS];
}

async function ablateOne(name, files) {
  const tests = [...files.values()].reduce((n, s) => n + s.size, 0);
  const pattern = [...new Set([...files.values()].flatMap((s) => [...s]))].map((t) => `${escapeRegex(t)}$`).join('|');
  let r = await vitest(['--maxWorkers=1', `--testNamePattern=${pattern}`, ...files.keys()], { TSOCAT_ABLATE: name }, 10 * 60_000);
  // Concurrent tests (it.concurrent) share process.env, so a use may be credited to a sibling test:
  // before calling an option not caught, run the whole files that used it.
  if ((r.report?.numFailedTests ?? 0) === 0 && !r.timedOut) r = await vitest(['--maxWorkers=1', ...files.keys()], { TSOCAT_ABLATE: name }, 10 * 60_000);
  if (process.env.ABLATE_DEBUG) process.stderr.write(`${name}: exit ${r.code}\n${r.stderr.slice(-3000)}\n`);
  const failed = r.report?.numFailedTests ?? 0;
  const ran = (r.report?.numPassedTests ?? 0) + failed;
  // a failure is what counts; a run that broke without a report (or timed out) counts as caught only when it says why
  const caught = failed > 0 || r.timedOut;
  if (!r.report && !r.timedOut) return { name, tests, ran: 0, caught: false, by: `vitest did not run: ${r.stderr.trim().split('\n').find((l) => /Error/.test(l)) ?? `exit ${r.code}`}` };
  const failedNames = r.report?.testResults?.flatMap((f) => f.assertionResults.filter((a) => a.status === 'failed').map((a) => a.fullName)) ?? [];
  return { name, tests, ran, caught, by: failedNames[0] ?? (r.timedOut ? 'timed out' : '') };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const exempt = JSON.parse(readFileSync(join(ROOT, 'test', 'ablation-exempt.json'), 'utf8'));
  let trace = args.trace;
  if (!trace) {
    const dir = mkdtempSync(join(tmpdir(), 'tsocat-trace-'));
    trace = join(dir, 'trace.tsv');
    writeFileSync(trace, '');
    process.stdout.write('ablation: tracing which tests use which option (one full run)…\n');
    const base = await vitest([], { TSOCAT_OPTION_TRACE: trace }, 30 * 60_000);
    if (base.code !== 0) {
      process.stdout.write(`ablation: the suite is not green without ablation (exit ${base.code}); fix that first\n${base.stderr.slice(-2000)}\n`);
      process.exit(1);
    }
  }
  const uses = readTrace(trace);
  let names = await candidates();
  if (args.only) names = names.filter((n) => args.only.includes(n));

  const results = [];
  const queue = [...names];
  const started = Date.now();
  async function worker() {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const files = uses.get(name);
      const r = files ? await ablateOne(name, files) : { name, tests: 0, ran: 0, caught: false, by: '' };
      results.push(r);
      const mark = r.caught ? 'caught' : exempt[name] ? 'exempt' : 'NOT CAUGHT';
      process.stdout.write(`  ${name.padEnd(22)} tests ${String(r.tests).padStart(3)}  ${mark}\n`);
    }
  }
  await Promise.all(Array.from({ length: args.jobs }, worker));
  results.sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name));

  const missed = results.filter((r) => !r.caught && !exempt[r.name]);
  const exempted = results.filter((r) => !r.caught && exempt[r.name]);
  const staleExemptions = results.filter((r) => r.caught && exempt[r.name]);
  const rows = results.map((r) => `| ${r.name} | ${r.tests} | ${r.caught ? 'yes' : 'no'} | ${r.caught ? r.by : exempt[r.name] ? `exempt: ${exempt[r.name]}` : r.by || (r.tests ? 'no test failed' : 'no test uses it')} |`);
  const summary = `ablation: ${results.length} options and flags checked, ${results.length - missed.length - exempted.length} caught, ${exempted.length} exempt, ${missed.length} not caught (${Math.round((Date.now() - started) / 1000)} s)`;
  const table = ['| option | tests | caught | first failing test, or why not |', '|---|---|---|---|', ...rows].join('\n');
  if (args.report) writeFileSync(args.report, `${summary}\n\n${table}\n`);
  process.stdout.write(`\n${table}\n\n`);
  for (const r of staleExemptions) process.stdout.write(`note: ${r.name} is caught now; take it off test/ablation-exempt.json\n`);
  if (missed.length) process.stdout.write(`not caught: ${missed.map((r) => r.name).join(' ')}\n`);
  process.stdout.write(`${summary}\n`);
  // the same in the plain form CI logs are read by: caught passes, not caught fails, exempt is skipped
  process.stdout.write(`ablation: ${results.length - missed.length - exempted.length} passed, ${missed.length} failed, ${exempted.length} skipped\n`);
  process.exit(missed.length ? 1 : 0);
}

await main();
