#!/usr/bin/env node
/**
 * The ablation check (docs/testing.md): for every catalog option and every
 * command-line flag, some test must fail when that one option is ablated
 * (TSOCAT_ABLATE: validated, then treated as absent). An option no test
 * notices is either untested or does nothing; both are defects, unless
 * test/ablation-exempt.json says why.
 *
 *   node scripts/ablate.mjs [--only a,b,-T] [--trace FILE] [--jobs N] [--report FILE]   the search
 *   node scripts/ablate.mjs --replay --trace FILE [--baseline REPORT] [--jobs N] [--report FILE]   CI's check
 *
 * Both run in batches: one vitest run (a round) checks many option/test pairs,
 * each planned test ablating its own option (TSOCAT_ABLATE_PLAN, read by
 * test/setup.ts), every other test skipped.
 *
 * The search reads a trace (TSOCAT_OPTION_TRACE: which tests use which option;
 * one traced full run when --trace is not given). In round k every option not
 * yet caught tries its next candidate among the tests that used it, a test
 * taking one option per round; options no single test caught then try the whole
 * files that used them (a process a file's beforeAll starts, or a use credited
 * to a concurrent sibling, is ablated only so; a file must fail twice). The test that failed is the
 * option's catcher; the search writes them to test/ablation-catchers.json
 * (merged, with --only), which is reviewed like code.
 *
 * The replay (CI) checks each recorded option against its catcher only; a
 * catcher taking K options needs K rounds, so each option picks, among its
 * catchers, the least loaded. Options that are new, whose catcher passes, or
 * whose catcher is gone fall back to the search, for those options only.
 *
 * A test that fails with an option ablated catches it only if it passes with
 * nothing ablated: in --baseline (vitest's JSON report of a run without
 * ablation, CI's test run), or else in a control round of just those tests.
 *
 * Exit status 1 when an option outside the exemption list is not caught. Unit
 * tests do not count: they see the parsed value, and ablation is about the effect.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const VITEST = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
const RECORD = join(ROOT, 'test', 'ablation-catchers.json');
const ROUND_TIMEOUT_MS = 30 * 60_000;
/** A catcher is `<file> > <test>` (the test, ablated alone) or `<file>` (the whole file ablated). */
const SEP = ' > ';

function parseArgs(argv) {
  const args = { only: undefined, trace: undefined, jobs: 2, report: undefined, replay: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only') args.only = argv[++i].split(',').filter(Boolean);
    else if (a === '--trace') args.trace = argv[++i];
    else if (a === '--jobs') args.jobs = Math.max(1, Number(argv[++i]) || 1);
    else if (a === '--report') args.report = argv[++i];
    else if (a === '--replay') args.replay = true;
    else if (a === '--baseline') args.baseline = argv[++i];
    else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

const log = (line) => process.stdout.write(`${line}\n`);
const secondsSince = (t) => Math.round((Date.now() - t) / 1000);

/** Runs vitest with extra environment; resolves with its exit code, JSON report and stderr. */
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
      stderr = (stderr + d).slice(-20_000);
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

/** The test id test/setup.ts writes (`<file>\t<describe… test>`) for each test of a JSON report, with its status. */
function testStatuses(report) {
  const status = new Map();
  for (const f of report?.testResults ?? []) {
    const file = relative(ROOT, f.name);
    for (const a of f.assertionResults) status.set(`${file}\t${[...a.ancestorTitles, a.title].join(' ')}`, a.status);
  }
  return status;
}

/** Files whose tests run concurrently (it.concurrent) share process.env: they take one planned test per round. */
const concurrentFiles = new Map();
function isConcurrentFile(file) {
  if (!concurrentFiles.has(file)) {
    let src = '';
    try {
      src = readFileSync(join(ROOT, file), 'utf8');
    } catch {
      // a file that is gone runs nothing
    }
    concurrentFiles.set(file, /\b(it|test|describe)\.concurrent\b|concurrent:\s*true/.test(src));
  }
  return concurrentFiles.get(file);
}

const fileOf = (catcher) => catcher.split(SEP, 1)[0];
const idOf = (catcher) => catcher.replace(SEP, '\t');

/**
 * One round: `tests` maps a catcher `<file> > <test>` to the option it ablates,
 * `files` a whole file to its option (with `ablate` false, the same tests run
 * with nothing ablated). Resolves with the catchers (of both kinds) that
 * failed, each test's status, the failed tests of each file, and whether the
 * run broke.
 */
async function runRound(tests, files, jobs, ablate = true) {
  const plan = { tests: {}, files: {} };
  for (const [catcher, option] of tests) plan.tests[idOf(catcher)] = ablate ? option : '';
  for (const [file, option] of files) plan.files[file] = ablate ? option : '';
  const paths = [...new Set([...tests.keys()].map(fileOf).concat([...files.keys()]))].filter((f) => existsSync(join(ROOT, f)));
  const failed = new Set();
  const failedIds = new Map();
  if (paths.length === 0) return { failed, status: new Map(), failedIds, broken: false };
  const dir = mkdtempSync(join(tmpdir(), 'tsocat-plan-'));
  const planFile = join(dir, 'plan.json');
  writeFileSync(planFile, JSON.stringify(plan));
  const r = await vitest([`--maxWorkers=${jobs}`, ...paths], { TSOCAT_ABLATE_PLAN: planFile, TSOCAT_ABLATE: '', TSOCAT_OPTION_TRACE: '' }, ROUND_TIMEOUT_MS);
  rmSync(dir, { recursive: true, force: true });
  if (process.env.ABLATE_DEBUG) process.stderr.write(`round: exit ${r.code}\n${r.stderr.slice(-3000)}\n`);
  if (!r.report) return { failed, status: new Map(), failedIds, broken: true, why: r.timedOut ? 'the round timed out' : r.stderr.trim().split('\n').find((l) => /Error/.test(l)) ?? `exit ${r.code}` };
  const status = testStatuses(r.report);
  for (const catcher of tests.keys()) if (status.get(idOf(catcher)) === 'failed') failed.add(catcher);
  for (const f of r.report.testResults ?? []) {
    const file = relative(ROOT, f.name);
    if (!files.has(file)) continue;
    const ids = f.assertionResults.filter((a) => a.status === 'failed').map((a) => `${file}\t${[...a.ancestorTitles, a.title].join(' ')}`);
    failedIds.set(file, ids);
    // a whole file counts when any of its tests failed, or it failed to load with the option ablated
    if (f.status === 'failed' || ids.length) failed.add(file);
  }
  return { failed, status, failedIds, broken: false };
}

/** Each test's status in the JSON report of a run without ablation (--baseline: CI's own test run). */
let baseline;

/**
 * A round with the options ablated, then the check that what failed is the
 * option's doing: a catcher counts only when the same test passes with nothing
 * ablated (in the baseline run, or else in a control round of just those tests).
 * A test that fails either way (the effect gone from the code, so the test is
 * broken; a flaky test) says nothing about the option.
 */
async function ablatedRound(tests, files, jobs) {
  const r = await runRound(tests, files, jobs);
  if (r.broken || r.failed.size === 0) return { ...r, refuted: 0 };
  let passes = (id) => baseline?.get(id) === 'passed';
  if (!baseline) {
    const control = await runRound(new Map([...tests].filter(([c]) => r.failed.has(c))), new Map([...files].filter(([f]) => r.failed.has(f))), jobs, false);
    passes = (id) => control.status.get(id) === 'passed';
  }
  const failed = new Set([...r.failed].filter((c) => (c.includes(SEP) ? passes(idOf(c)) : (r.failedIds.get(c) ?? []).some(passes))));
  return { ...r, failed, refuted: r.failed.size - failed.size };
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

/**
 * An option's candidate tests, likeliest catcher first: a test whose name
 * mentions the option, then tests that use few options (a test about the
 * option rather than one that passes it along).
 */
function candidateTests(option, uses, optionsPerTest) {
  const tests = [...(uses.get(option) ?? new Map())].flatMap(([file, names]) => [...names].map((t) => `${file}${SEP}${t}`));
  const mentions = (c) => (c.split(SEP)[1].includes(option) ? 0 : 1);
  return tests.sort((a, b) => mentions(a) - mentions(b) || (optionsPerTest.get(a) ?? 0) - (optionsPerTest.get(b) ?? 0));
}

/**
 * The search for the given options: rounds over candidate tests, then over
 * whole files. Resolves with Map(option → catcher) for the options caught.
 */
async function search(options, uses, jobs) {
  const optionsPerTest = new Map();
  for (const [, files] of uses) for (const [file, names] of files) for (const t of names) optionsPerTest.set(`${file}${SEP}${t}`, (optionsPerTest.get(`${file}${SEP}${t}`) ?? 0) + 1);
  const caught = new Map();
  const left = new Map(options.filter((o) => uses.has(o)).map((o) => [o, candidateTests(o, uses, optionsPerTest)]));
  const tried = new Map();
  for (let round = 1; left.size > 0; round++) {
    const started = Date.now();
    const tests = new Map();
    const busyFiles = new Set(); // concurrent files already holding a test this round
    const take = (option, cands) => {
      const i = cands.findIndex((c) => !tests.has(c) && !busyFiles.has(fileOf(c)));
      if (i < 0) return false;
      const [c] = cands.splice(i, 1);
      tests.set(c, option);
      tried.set(option, (tried.get(option) ?? 0) + 1);
      if (isConcurrentFile(fileOf(c))) busyFiles.add(fileOf(c));
      return true;
    };
    // the options with the fewest candidates left choose first, one test each
    const order = [...left].sort((a, b) => a[1].length - b[1].length);
    for (const [option, cands] of order) take(option, cands);
    // an option three tests did not catch takes every test still free, so it does not hold the search for a round per test
    for (const [option, cands] of order) if ((tried.get(option) ?? 0) > 3) while (take(option, cands));
    const r = await ablatedRound(tests, new Map(), jobs);
    if (r.broken) log(`  round ${round}: vitest broke (${r.why}); its pairs count as not caught by those tests`);
    if (r.refuted) log(`  round ${round}: ${r.refuted} tests failed with nothing ablated as well: not counted`);
    for (const c of r.failed) {
      caught.set(tests.get(c), c);
      left.delete(tests.get(c));
    }
    for (const [option, cands] of left) if (cands.length === 0) left.delete(option);
    log(`  search round ${round}: ${tests.size} option/test pairs, ${r.failed.size} caught, ${left.size} options with candidates left (${secondsSince(started)} s)`);
  }
  // what no single test caught: ablate it in each whole file that used it, several files per option and round
  const leftFiles = new Map(options.filter((o) => uses.has(o) && !caught.has(o)).map((o) => [o, [...uses.get(o).keys()]]));
  for (let round = 1; leftFiles.size > 0; round++) {
    const started = Date.now();
    const files = new Map();
    for (const [option, cands] of leftFiles) {
      for (let i = 0; i < cands.length; ) {
        if (files.has(cands[i])) i++;
        else files.set(cands.splice(i, 1)[0], option);
      }
    }
    const first = await ablatedRound(new Map(), files, jobs);
    if (first.broken) log(`  file round ${round}: vitest broke (${first.why})`);
    // a whole file has many tests, and one failing on a loaded machine is not the option's doing
    // (a file round once "caught" --experimental that way): a file counts when it fails again
    const r = first.failed.size ? await ablatedRound(new Map(), new Map([...first.failed].map((f) => [f, files.get(f)])), jobs) : first;
    for (const f of r.failed) {
      const option = files.get(f);
      if (!caught.has(option)) caught.set(option, f);
      leftFiles.delete(option);
    }
    for (const [option, cands] of leftFiles) if (cands.length === 0) leftFiles.delete(option);
    log(`  search file round ${round}: ${files.size} option/file pairs, ${first.failed.size} failed, ${r.failed.size} failed again (${secondsSince(started)} s)`);
  }
  return caught;
}

/**
 * The replay: each option against one of its recorded catchers, the least
 * loaded, in as few rounds as the busiest catcher needs. Resolves with
 * Map(option → catcher) for the options whose catcher failed.
 */
async function replay(record, jobs) {
  // a test in a concurrent file, and a whole-file catcher with the tests of its file, hold the file for the round
  const wholeFiles = new Set(Object.values(record).flatMap((cs) => cs.filter((c) => !c.includes(SEP))));
  const slotOf = (c) => (!c.includes(SEP) || wholeFiles.has(fileOf(c)) || isConcurrentFile(fileOf(c)) ? `file:${fileOf(c)}` : c);
  const load = new Map();
  const queues = new Map(); // slot → [[option, catcher]]
  for (const [option, catchers] of Object.entries(record).sort((a, b) => a[1].length - b[1].length)) {
    const best = catchers.reduce((x, y) => ((load.get(slotOf(y)) ?? 0) < (load.get(slotOf(x)) ?? 0) ? y : x));
    const slot = slotOf(best);
    load.set(slot, (load.get(slot) ?? 0) + 1);
    if (!queues.has(slot)) queues.set(slot, []);
    queues.get(slot).push([option, best]);
  }
  const rounds = Math.max(0, ...load.values());
  const caught = new Map();
  for (let k = 0; k < rounds; k++) {
    const started = Date.now();
    const tests = new Map();
    const files = new Map();
    for (const queue of queues.values()) {
      if (k >= queue.length) continue;
      const [option, catcher] = queue[k];
      if (catcher.includes(SEP)) tests.set(catcher, option);
      else files.set(catcher, option);
    }
    const r = await ablatedRound(tests, files, jobs);
    if (r.broken) log(`  replay round ${k + 1}: vitest broke (${r.why}); its options go to the search`);
    if (r.refuted) log(`  replay round ${k + 1}: ${r.refuted} recorded tests fail with nothing ablated as well: not counted`);
    for (const c of r.failed) caught.set(tests.get(c) ?? files.get(c), c);
    log(`  replay round ${k + 1}/${rounds}: ${tests.size + files.size} options, ${r.failed.size} caught by their recorded test (${secondsSince(started)} s)`);
  }
  return caught;
}

async function catalogNames() {
  const { allOptions } = await import(join(ROOT, 'dist/options/catalog.js'));
  const { loadCatalog } = await import(join(ROOT, 'dist/options/index.js'));
  const { FLAG_KEYS } = await import(join(ROOT, 'dist/src/cli/flags.js'));
  await loadCatalog();
  const { SERVE_FLAG_KEYS } = await import(join(ROOT, 'dist/src/serve/command.js'));
  return [...allOptions().map((o) => o.name), ...FLAG_KEYS, ...SERVE_FLAG_KEYS];
}

function readRecord() {
  try {
    return JSON.parse(readFileSync(RECORD, 'utf8'));
  } catch {
    return {};
  }
}

/** Writes the record sorted by option, one line per option, so a review sees each change on its own line. */
function writeRecord(record, names) {
  const keys = Object.keys(record)
    .filter((k) => names.includes(k))
    .sort();
  const lines = keys.map((k) => `  ${JSON.stringify(k)}: ${JSON.stringify(record[k])}`);
  writeFileSync(RECORD, `{\n${lines.join(',\n')}\n}\n`);
}

async function traceIfNeeded(trace) {
  if (trace) return trace;
  const dir = mkdtempSync(join(tmpdir(), 'tsocat-trace-'));
  trace = join(dir, 'trace.tsv');
  writeFileSync(trace, '');
  log('ablation: tracing which tests use which option (one full run)…');
  const base = await vitest([], { TSOCAT_OPTION_TRACE: trace }, 30 * 60_000);
  if (base.code !== 0) {
    log(`ablation: the suite is not green without ablation (exit ${base.code}); fix that first\n${base.stderr.slice(-2000)}`);
    process.exit(1);
  }
  return trace;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.baseline) baseline = testStatuses(JSON.parse(readFileSync(args.baseline, 'utf8')));
  const exempt = JSON.parse(readFileSync(join(ROOT, 'test', 'ablation-exempt.json'), 'utf8'));
  const started = Date.now();
  const allNames = await catalogNames();
  let names = allNames;
  if (args.only) names = names.filter((n) => args.only.includes(n));
  const record = readRecord();
  const caught = new Map();
  let searched = names;

  if (args.replay) {
    const recorded = Object.fromEntries(names.filter((n) => record[n]?.length).map((n) => [n, record[n]]));
    log(`ablation: replaying ${Object.keys(recorded).length} recorded options against their catchers (test/ablation-catchers.json)`);
    for (const [option, catcher] of await replay(recorded, args.jobs)) caught.set(option, catcher);
    // what the record cannot vouch for: new options, stale catchers; exempt options without a catcher are not searched again
    searched = names.filter((n) => !caught.has(n) && !(exempt[n] && !record[n]));
    const stale = searched.filter((n) => record[n]);
    const fresh = searched.filter((n) => !record[n]);
    if (stale.length) log(`ablation: recorded catcher no longer fails (or is gone) for: ${stale.join(' ')}`);
    if (fresh.length) log(`ablation: not in the record: ${fresh.join(' ')}`);
  }
  if (searched.length) {
    const uses = readTrace(await traceIfNeeded(args.trace));
    log(`ablation: searching ${searched.length} options among the tests that used them`);
    for (const [option, catcher] of await search(searched, uses, args.jobs)) caught.set(option, catcher);
  }

  const results = names.map((name) => ({ name, by: caught.get(name) }));
  const missed = results.filter((r) => !r.by && !exempt[r.name]);
  const exempted = results.filter((r) => !r.by && exempt[r.name]);
  const staleExemptions = results.filter((r) => r.by && exempt[r.name]);
  const rows = results.map((r) => `| ${r.name} | ${r.by ? 'yes' : 'no'} | ${r.by ?? (exempt[r.name] ? `exempt: ${exempt[r.name]}` : 'no test failed')} |`);
  const summary = `ablation: ${results.length} options and flags checked, ${results.length - missed.length - exempted.length} caught, ${exempted.length} exempt, ${missed.length} not caught (${secondsSince(started)} s)`;
  const table = ['| option | caught | catcher (`file > test`, or a whole file), or why not |', '|---|---|---|', ...rows].join('\n');
  if (args.report) writeFileSync(args.report, `${summary}\n\n${table}\n`);
  if (!args.replay) {
    // the search records its catchers; with --only the other entries stay as they were
    const next = args.only ? { ...record } : {};
    for (const r of results) {
      if (r.by) next[r.name] = [r.by];
      else delete next[r.name];
    }
    writeRecord(next, allNames);
    log(`ablation: catchers written to ${relative(ROOT, RECORD)}`);
  } else {
    const moved = results.filter((r) => r.by && r.by !== record[r.name]?.[0] && !record[r.name]?.includes(r.by));
    if (moved.length) log(`note: the record is out of date for ${moved.map((r) => r.name).join(' ')}; update it with npm run ablate -- --only ${moved.map((r) => r.name).join(',')}`);
  }
  for (const r of staleExemptions) log(`note: ${r.name} is caught now; take it off test/ablation-exempt.json`);
  if (missed.length) {
    log('');
    for (const r of missed) log(`NOT CAUGHT: ${r.name}: no test fails with it ablated`);
  }
  log(args.report ? `ablation: table in ${args.report}` : `\n${table}\n`);
  log(summary);
  // the same in the plain form CI logs are read by: caught passes, not caught fails, exempt is skipped
  log(`ablation: ${results.length - missed.length - exempted.length} passed, ${missed.length} failed, ${exempted.length} skipped`);
  process.exit(missed.length ? 1 : 0);
}

await main();
