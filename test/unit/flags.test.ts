import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../src/cli/flags.js';
import { signalsInMask } from '../../src/cli/signals.js';
import { LEVEL_NUMBER } from '../../src/log/logger.js';

describe('command-line flags, parsed as socat parses them', () => {
  it('counts -d like socat 1.8', () => {
    expect(parseCommandLine(['-', '-']).log.threshold).toBe(LEVEL_NUMBER.W); // socat 1.8 shows warnings by default
    expect(parseCommandLine(['-d0', '-', '-']).log.threshold).toBe(LEVEL_NUMBER.E);
    expect(parseCommandLine(['-d', '-', '-']).log.threshold).toBe(LEVEL_NUMBER.W);
    expect(parseCommandLine(['-dd', '-', '-']).log.threshold).toBe(LEVEL_NUMBER.N);
    expect(parseCommandLine(['-d', '-d', '-d', '-', '-']).log.threshold).toBe(LEVEL_NUMBER.I);
    expect(parseCommandLine(['-d4', '-', '-']).log.threshold).toBe(LEVEL_NUMBER.D);
  });

  it('takes values attached or separate', () => {
    expect(parseCommandLine(['-b8192', '-', '-']).settings.blockSize).toBe(8192);
    expect(parseCommandLine(['-b', '100', '-', '-']).settings.blockSize).toBe(100);
    expect(parseCommandLine(['-t0.1', '-T', '3', '-', '-']).settings).toMatchObject({ closeTimeout: 0.1, inactivityTimeout: 3 });
    expect(parseCommandLine(['-lf', '/tmp/x', '-', '-']).log.file).toBe('/tmp/x');
    expect(parseCommandLine(['-lp', 'name', '-', '-']).log.program).toBe('name');
  });

  it('--workers takes a count (separate or after =) or auto, one per core', () => {
    expect(parseCommandLine(['--workers', '3', '-', '-']).workers).toBe(3);
    expect(parseCommandLine(['--workers=2', '-', '-'])).toMatchObject({ workers: 2, addresses: ['-', '-'] });
    expect(parseCommandLine(['--workers', 'auto', '-', '-']).workers).toBe(availableParallelism());
    expect(parseCommandLine(['-', '-']).workers).toBeUndefined();
    expect(() => parseCommandLine(['--workers', '1025', '-', '-'])).toThrow('option --workers: invalid value "1025" (a number from 1 to 1024, or auto)');
    expect(() => parseCommandLine(['--workers', '-1', '-', '-'])).toThrow('option --workers: invalid value "-1" (a number from 1 to 1024, or auto)');
  });

  it('stops at the first address; a lone - is an address', () => {
    expect(parseCommandLine(['-u', '-', 'TCP:h:1']).addresses).toEqual(['-', 'TCP:h:1']);
    expect(parseCommandLine(['-,crnl', '-']).addresses).toEqual(['-,crnl', '-']);
  });

  it('-S takes a C number as the mask of signals to log, bit n for signal n', () => {
    expect(signalsInMask(parseCommandLine(['-S', '0x80000000', '-', '-']).logSignals)).toEqual([{ name: 'SIGSYS', number: 31, level: 'E' }]);
    expect(signalsInMask(parseCommandLine(['-S0100000', '-', '-']).logSignals).map((s) => s.name)).toEqual(['SIGTERM']);
    const byDefault = signalsInMask(parseCommandLine(['-', '-']).logSignals);
    expect(byDefault.map((s) => s.number)).toEqual([1, 2, 3, 4, 6, 7, 8, 11, 15]);
    expect(byDefault.filter((s) => s.level !== 'E').map((s) => `${s.name}:${s.level}`)).toEqual(['SIGHUP:N', 'SIGINT:N', 'SIGTERM:W']);
    expect(() => parseCommandLine(['-S', '0xq', '-', '-'])).toThrow('parseopts(): trailing garbage in numerical arg of option "-S"');
  });

  it('refuses what socat refuses, in its words', () => {
    expect(() => parseCommandLine(['-z', '-', '-'])).toThrow('unknown option "-z"; use option "-h" for help');
    expect(() => parseCommandLine(['-ux', '-', '-'])).toThrow('Do not merge single character options, i.e. use "-u -x" instead of "-ux"');
    expect(() => parseCommandLine(['-b'])).toThrow('option -b requires an argument; use option "-h" for help');
    expect(() => parseCommandLine(['-lz', '-', '-'])).toThrow('unknown log option "-lz"');
  });

  it('reads -u, -U, -g, -4, -6, -v, -x, --statistics', () => {
    const c = parseCommandLine(['-U', '-g', '-6', '-v', '-x', '--statistics', '-', '-']);
    expect(c.settings).toMatchObject({ direction: 'right-to-left', ignoreGroups: true, preferredFamily: 6, verbose: true, hexDump: true, statistics: true });
  });
});
