/**
 * The ablation check's switch (docs/testing.md). `TSOCAT_ABLATE=<option|flag>`
 * makes tsocat validate that one option (canonical name, e.g. `ignoreeof`) or
 * command-line flag (e.g. `-T`) as usual and then behave as if it had not been
 * given, so `npm run ablate` can show that some test notices. Unset, it costs
 * one string comparison per option.
 *
 * Under the batched check (TSOCAT_ABLATE_PLAN set, test/setup.ts) each test of
 * one run ablates its own option, so the variable is re-read at every call:
 * the library, used in-process by tests, sees the running test's option.
 *
 * `TSOCAT_OPTION_TRACE=<file>` appends one line per option or flag used, with
 * the test that caused it (TSOCAT_TEST_ID, set by test/setup.ts), so the
 * ablation check knows which tests exercise what.
 */
import { appendFileSync } from 'node:fs';

const ablated = process.env.TSOCAT_ABLATE || undefined;
const traceFile = process.env.TSOCAT_OPTION_TRACE || undefined;

/** True when this option or flag is the one being ablated. */
export const isAblated: (name: string) => boolean =
  process.env.TSOCAT_ABLATE_PLAN === undefined ? (name) => name === ablated : (name) => name === (process.env.TSOCAT_ABLATE || undefined);

/** Records that an option or flag was used (only while tracing). */
export function traceUse(name: string): void {
  if (traceFile === undefined) return;
  try {
    appendFileSync(traceFile, `${process.env.TSOCAT_TEST_ID ?? '-'}\t${name}\n`);
  } catch {
    // tracing must never change what tsocat does
  }
}
