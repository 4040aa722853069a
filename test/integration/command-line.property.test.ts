/**
 * Issue 17: bad input never reaches Node's internals. Generated command lines
 * — every address keyword and every catalog option, numbers at each C and
 * JavaScript boundary (0, -1, 2^31-1, 2^31, 2^32-1, 2^32, 2^63, 2^64, twenty
 * digits, hex, octal), names past NAME_MAX and PATH_MAX, brackets and quotes
 * nested thousands deep — go through the flag parser and the address check
 * in-process (cheap, thousands of cases), then a smaller number through the
 * real command. Every case settles in bounded time with a value or one
 * TsocatError; the command exits 0 or 1 with no "internal error" and none of
 * Node's own wording.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { allOptions } from '../../options/catalog.js';
import { loadCatalog } from '../../options/index.js';
import { parseCommandLine } from '../../src/cli/flags.js';
import { DEFAULT_SETTINGS, loadRegistry, parseAddress, TsocatError, validateAddress } from '../../src/index.js';
import { freePort, tempDir, tsocat } from '../helpers.js';

/** What only Node (never tsocat) says: an error class, a range message, a stack frame, a timer warning. */
const NODE_WORDING = /internal error|^\s+at |node:internal|ERR_[A-Z_]{3,}|The value of "|Received type|Maximum call stack|TimeoutOverflowWarning|RangeError|TypeError/m;

const BOUNDARIES = [
  '0', '-1', '1', '255', '256', '65535', '65536',
  '2147483647', '2147483648', '-2147483648', '-2147483649', '4294967295', '4294967296',
  '9223372036854775807', '9223372036854775808', '18446744073709551615', '18446744073709551616',
  '99999999999999999999', '1e400', '0x7fffffff', '0x80000000', '0xffffffff', '0x100000000', '0xffffffffffffffff',
  '0777', '037777777777', '08', '0x', '-0', '+1', '1.5', '',
];

/** A number as a user may type one: a boundary, or any integer in decimal, hex or octal. */
const numberText = fc.oneof(
  fc.constantFrom(...BOUNDARIES),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).chain((n) =>
    fc.constantFrom(n.toString(), `${n < 0n ? '-' : ''}0x${(n < 0n ? -n : n).toString(16)}`, `${n < 0n ? '-' : ''}0${(n < 0n ? -n : n).toString(8)}`),
  ),
);

/** Names around NAME_MAX (255) and PATH_MAX (4096). */
const longName = fc.constantFrom(255, 256, 300, 4095, 4097).map((n) => 'a'.repeat(n));

const NESTS: ReadonlyArray<readonly [string, string]> = [['[', ']'], ['{', '}'], ['(', ')'], ['"', '"'], ["'", "'"]];
/** Brackets or quotes nested up to 3,000 deep, closed or not. */
const nested = fc
  .tuple(fc.constantFrom(...NESTS), fc.constantFrom(1, 255, 256, 257, 3000), fc.boolean(), fc.constantFrom('', 'x', ':', ','))
  .map(([[open, close], depth, closed, inner]) => open.repeat(depth) + inner + (closed ? close.repeat(depth) : ''));

const word = fc.oneof(numberText, longName, nested, fc.constantFrom('127.0.0.1', '[::1]', 'x', '-', '%', '\\', '!!'));

let keywords: string[] = [];
let optionNames: string[] = [];

/** One address: a keyword of the registry, up to four parameters and options with values from `word`. */
const address = () =>
  fc
    .tuple(
      fc.constantFrom(...keywords),
      fc.array(word, { maxLength: 4 }),
      fc.array(fc.tuple(fc.constantFrom(...optionNames), fc.option(word, { nil: undefined })), { maxLength: 4 }),
    )
    .map(([keyword, params, options]) => [keyword, ...params].join(':') + options.map(([n, v]) => `,${n}${v === undefined ? '' : `=${v}`}`).join(''));

const FLAGS = ['-b', '-t', '-T', '-S', '-lp', '-lf', '-d', '-u', '-U', '-g', '-s', '-4', '-6'];
const flags = fc.array(fc.tuple(fc.constantFrom(...FLAGS), fc.oneof(numberText, longName)), { maxLength: 3 }).map((pairs) => pairs.flatMap(([f, v]) => (['-u', '-U', '-g', '-s', '-4', '-6', '-d'].includes(f) ? [f] : [f, v])));

/** Settles `work` or rejects after `ms`: a case that does not end is a failure, not a slow pass. */
async function bounded<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what.slice(0, 300)}`)), ms);
  });
  try {
    return await Promise.race([work, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** The flag parser and the check of both addresses, as the command runs them before opening anything. */
async function validateCommandLine(argv: string[]): Promise<'valid' | 'refused'> {
  try {
    const cmd = parseCommandLine(argv);
    for (const text of cmd.addresses) await validateAddress(parseAddress(text), 'rw', { settings: { ...DEFAULT_SETTINGS, ...cmd.settings } });
    return 'valid';
  } catch (err) {
    if (!(err instanceof TsocatError)) throw err;
    expect(err.message).not.toMatch(NODE_WORDING);
    return 'refused';
  }
}

describe('generated command lines (issue 17)', () => {
  beforeAll(async () => {
    const registry = await loadRegistry();
    await loadCatalog();
    keywords = [...registry.keys()];
    optionNames = allOptions().flatMap((o) => [o.name, ...(o.aliases ?? [])]);
  });

  it('3,000 through the flag parser and the address check: a value or one TsocatError, each within 2 s', async () => {
    const outcomes = { valid: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(flags, address(), address(), async (f, a1, a2) => {
        const argv = [...f, a1, a2];
        outcomes[await bounded(validateCommandLine(argv), 2000, argv.join(' '))]++;
      }),
      { numRuns: 3000, seed: 17, endOnFailure: true },
    );
    // the generator must reach both outcomes, or it tests only one path
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(outcomes.valid).toBeGreaterThan(0);
  }, 60_000);

  it('through the command: exit 0 or 1, one socat-style error line at most, never Node wording, never a hang', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const closed = String(await freePort());
      // addresses that fail before connecting, or reach only 127.0.0.1 ports nobody listens on; nothing listens or waits for a peer
      const safeNumber = fc.oneof(numberText, fc.constant(closed));
      const value = fc.oneof(safeNumber, longName, nested);
      const safeOption = fc.tuple(fc.constantFrom('ttl', 'tos', 'rcvbuf', 'sndbuf', 'sourceport', 'connect-timeout', 'linger', 'so-mark', 'keepidle', 'setsockopt-int=1:7', 'vmin', 'readbytes', 'perm', 'seek', 'fdin'), value).map(([n, v]) => `,${n}=${v}`);
      const client = fc
        .tuple(
          fc.oneof(
            safeNumber.map((p) => `TCP4:127.0.0.1:${p}`),
            safeNumber.map((p) => `UDP4:127.0.0.1:${p}`),
            safeNumber.map((p) => `UDP4-SENDTO:127.0.0.1:${p}`),
            fc.tuple(safeNumber, safeNumber).map(([d, p]) => `SOCKET-CONNECT:${d}:${p}:x00`),
            fc.oneof(longName, nested).map((n) => `EXEC:${n}`),
            fc.oneof(longName, nested).map((n) => `OPEN:${join(dir, n)}`),
            fc.constant(`OPEN:${join(dir, 'missing')}`),
          ),
          fc.array(safeOption, { maxLength: 2 }),
        )
        .map(([a, opts]) => a + opts.join(''));
      const cases = fc.sample(fc.tuple(flags.filter((f) => !f.includes('-T') && !f.includes('-lf')), client), { numRuns: 36, seed: 17 });
      // four at a time: cheap in CI, and still a crowd for the event loop of none of them
      for (let i = 0; i < cases.length; i += 4) {
        await Promise.all(
          cases.slice(i, i + 4).map(async ([f, a]) => {
            const argv = ['-T', '2', ...f, '-', a];
            const r = await tsocat(argv, { cwd: dir, input: '', timeoutMs: 10_000 });
            const context = `${argv.join(' ').slice(0, 400)}\n${r.stderr.slice(0, 1000)}`;
            expect([0, 1], context).toContain(r.status);
            expect(r.stderr, context).not.toMatch(NODE_WORDING);
            // -s (sloppy) logs each refused option and goes on: one line per refusal, by design
            const errors = r.stderr.split('\n').filter((l) => / E /.test(l));
            if (!argv.includes('-s')) expect(errors.length, context).toBeLessThanOrEqual(1);
          }),
        );
      }
    } finally {
      cleanup();
    }
  }, 120_000);
});
