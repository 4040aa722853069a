/**
 * Once per test run: a file where the conformance case files note each plugin
 * they open (TSOCAT_CONFORMANCE_OPENED, test/conformance/suite.ts), so that
 * coverage.test.ts, which vitest.config.ts runs after every other file, reads
 * this run's record instead of running the case files a second time. A run
 * that sets the variable itself (coverage.test.ts's own run of the folder)
 * keeps its file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  if (process.env.TSOCAT_CONFORMANCE_OPENED) return () => {};
  const dir = mkdtempSync(join(tmpdir(), 'tsocat-opened-'));
  const record = join(dir, 'opened.tsv');
  writeFileSync(record, '');
  // the test workers are started after this and inherit it
  process.env.TSOCAT_CONFORMANCE_OPENED = record;
  return () => rmSync(dir, { recursive: true, force: true });
}
