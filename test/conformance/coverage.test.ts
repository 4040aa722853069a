/**
 * A new address family must come with its conformance case: every plugin in
 * the registry is opened, successfully, by this folder's tests. With
 * TSOCAT_CONFORMANCE_OPENED set, suite.ts's openAddress() and tsocat() write
 * down the plugin behind each address they opened (the families that are
 * tsocat's own stdin and stdout are checked through the command); the check
 * compares that with the registry. It reads the record of this run
 * (test/global-setup.ts; vitest.config.ts runs this file after all others)
 * when every case file ran to its end in it and nothing is missing; otherwise
 * (this file run alone, a filtered run, a plugin not seen) it runs the case
 * files once more itself, and that run decides.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allOptions } from '../../options/catalog.js';
import { loadCatalog } from '../../options/index.js';
import { allPlugins } from '../../src/index.js';
import { ROOT, run, tempDir, tsocat } from '../helpers.js';
import { CASE_FILE_DONE, OPENED_RECORD_ENV } from './suite.js';

const HERE = join(ROOT, 'test', 'conformance');
const VITEST = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');

/** The case files: every test file of the folder but this one. */
const caseFiles = (): string[] =>
  readdirSync(HERE)
    .filter((f) => f.endsWith('.test.ts') && f !== 'coverage.test.ts')
    .map((f) => join('test', 'conformance', f));

/** The plugins the plugin lines of a record name. */
const pluginsIn = (lines: string[]): Set<string> => new Set(lines.filter((l) => !l.startsWith(CASE_FILE_DONE)).map((line) => line.split('\t')[0] as string));

/** What this run's case files opened, when every one of them ran to its end in this run. */
function openedInThisRun(files: string[]): Set<string> | undefined {
  const record = process.env[OPENED_RECORD_ENV];
  if (!record || !existsSync(record)) return undefined;
  const lines = readFileSync(record, 'utf8').split('\n').filter(Boolean);
  const done = new Set(lines.filter((l) => l.startsWith(`${CASE_FILE_DONE}\t`)).map((l) => l.split('\t')[1]));
  return files.every((f) => done.has(f)) ? pluginsIn(lines) : undefined;
}

/** Runs the case files and returns the plugins they opened, with what the run said. */
async function openedByTheCases(files: string[]): Promise<{ opened: Set<string>; summary: string }> {
  const { dir, cleanup } = tempDir();
  try {
    const record = join(dir, 'opened.tsv');
    writeFileSync(record, '');
    // the run's own outcome is the case files' business: only what they opened counts here
    const env: NodeJS.ProcessEnv = { ...process.env, [OPENED_RECORD_ENV]: record, NO_COLOR: '1' };
    delete env.TSOCAT_OPTION_TRACE;
    delete env.TSOCAT_ABLATE;
    const r = await run(process.execPath, [VITEST, 'run', '--maxWorkers=1', ...files], { cwd: ROOT, env, timeoutMs: 120000 });
    const opened = pluginsIn(readFileSync(record, 'utf8').split('\n').filter(Boolean));
    const summary = r.stdout.toString().split('\n').filter((l) => /Tests|Test Files/.test(l)).join(' ');
    return { opened, summary };
  } finally {
    cleanup();
  }
}

describe('conformance coverage', () => {
  it('every address plugin is opened by a conformance case', async () => {
    const names = (await allPlugins()).map((plugin) => plugin.names[0] as string);
    const files = caseFiles();
    const thisRun = openedInThisRun(files);
    // every plugin opened by this run's cases: nothing to run again
    if (thisRun && names.every((name) => thisRun.has(name))) return;
    const { opened, summary } = await openedByTheCases(files);
    const uncovered = names.filter((name) => !opened.has(name));
    expect(uncovered, `no case opens these through suite.ts's openAddress() or tsocat() (case run: ${summary})`).toEqual([]);
  }, 180000);
});

describe('the bundled command (bin/tsocat.js runs dist/tsocat.cjs)', () => {
  it('knows every address keyword and option the library has: the build-time plugin table left none out', async () => {
    const help = (await tsocat(['-hhh'])).stdout.toString();
    const listed = new Set(help.split('\n').map((line) => line.trim().split(/[\s:[]/)[0]));
    const keywords = (await allPlugins()).flatMap((p) => p.names).filter((n) => n !== '-');
    await loadCatalog();
    const options = allOptions().flatMap((o) => [o.name, ...(o.aliases ?? [])]);
    expect([...keywords, ...options].filter((name) => !listed.has(name))).toEqual([]);
  });
});
