import { beforeAll, describe, expect, it } from 'vitest';
import { allOptions, C_LIMITS, type CType, findOption, parseCNumber, parseCTyped, parseTimeval, resolveOptions } from '../../options/catalog.js';
import { loadCatalog } from '../../options/index.js';
import { TsocatError } from '../../src/errors.js';

beforeAll(() => loadCatalog());

describe('option catalog', () => {
  it('finds options by name and alias, case-insensitively', () => {
    expect(findOption('reuseaddr')?.name).toBe('so-reuseaddr');
    expect(findOption('NODELAY')?.name).toBe('tcp-nodelay');
    expect(findOption('mode')?.name).toBe('perm');
  });

  it('declares every option the foundation needs', () => {
    const names = ['cloexec', 'setlk', 'flock-ex', 'unlink-early', 'unlink-late', 'unlink-close', 'perm', 'user', 'group', 'creat', 'excl', 'trunc', 'append', 'rdonly', 'wronly', 'nonblock', 'ignoreeof', 'cr', 'crnl', 'readbytes', 'pipes', 'stderr', 'setsid', 'nofork', 'path', 'chdir', 'umask', 'bind', 'reuseaddr', 'keepalive', 'rcvbuf', 'sndbuf', 'linger', 'nodelay', 'backlog', 'max-children', 'accept-timeout', 'fork', 'retry', 'forever', 'interval', 'range'];
    for (const n of names) expect(findOption(n), n).toBeDefined();
  });

  it('types values', () => {
    const o = resolveOptions([{ name: 'retry', value: '0x10' }, { name: 'perm', value: '640' }, { name: 'fork' }, { name: 'interval', value: '0.5' }], ['RETRY', 'NAMED', 'CHILD']);
    expect(o.number('retry')).toBe(16);
    expect(o.number('perm')).toBe(0o640);
    expect(o.bool('fork')).toBe(true);
    expect(o.number('interval')).toBe(0.5);
  });

  it('refuses unknown options, wrong groups and bad values with socat wording', () => {
    expect(() => resolveOptions([{ name: 'frobnicate' }], ['FD'])).toThrow('parseopts_table(): unknown option "frobnicate"');
    expect(() => resolveOptions([{ name: 'nodelay' }], ['FD'])).toThrow('option "nodelay" not supported with this address type');
    expect(() => resolveOptions([{ name: 'retry', value: 'abc' }], ['RETRY'])).toThrow(/missing numerical value/);
    expect(() => resolveOptions([{ name: 'crnl', value: '1' }], ['APPL'])).toThrow('no value permitted for option "crnl"');
    expect(() => resolveOptions([{ name: 'perm', value: '9' }], ['NAMED'])).toThrow(TsocatError);
    expect(() => resolveOptions([{ name: 'bind' }], ['SOCKET'])).toThrow('value required');
  });

  it('lets -g accept options of any group', () => {
    expect(resolveOptions([{ name: 'nodelay' }], ['FD'], true).bool('tcp-nodelay')).toBe(true);
  });

  it('accepts ADDR-group options everywhere', () => {
    expect(resolveOptions([{ name: 'umask', value: '022' }], ['FD']).number('umask')).toBe(0o22);
  });

  it('parses C numbers like strtoul(…, 0)', () => {
    expect(parseCNumber('010', 'x')).toBe(8);
    expect(parseCNumber('0x1f', 'x')).toBe(31);
    expect(parseCNumber('42', 'x')).toBe(42);
    expect(() => parseCNumber('', 'x')).toThrow(/missing numerical value/);
    expect(() => parseCNumber('abc', 'x')).toThrow(/missing numerical value/);
    expect(() => parseCNumber('12x', 'x')).toThrow(/trailing garbage/);
  });

  it('parses times like strtod, in socat words when they are bad', () => {
    expect(parseTimeval('0.5', 'x')).toBe(0.5);
    expect(parseTimeval('.25', 'x')).toBe(0.25);
    expect(parseTimeval('3', 'x')).toBe(3);
    expect(() => parseTimeval('abc', '-t')).toThrow('parseopts(): missing numerical value of option "-t"');
    expect(() => parseTimeval('1x', '-t')).toThrow('parseopts(): trailing garbage in numerical arg of option "-t"');
  });

  it('takes each C type up to its edges and refuses one past them, in decimal, hex and octal alike', () => {
    for (const [ctype, [min, max]] of Object.entries(C_LIMITS) as Array<[CType, readonly [bigint, bigint]]>) {
      expect(parseCTyped(String(max), 'x', ctype), ctype).toBe(Number(max));
      expect(parseCTyped(`0x${max.toString(16)}`, 'x', ctype), ctype).toBe(Number(max));
      expect(() => parseCTyped(String(max + 1n), `x=${max + 1n}`, ctype), ctype).toThrow(`exceeds limit (${max + 1n} vs. ${max})`);
      expect(() => parseCTyped(`0${(max + 1n).toString(8)}`, 'x', ctype), ctype).toThrow(`exceeds limit (${max + 1n} vs. ${max})`);
      expect(parseCTyped(String(min), 'x', ctype), ctype).toBe(Number(min));
      expect(() => parseCTyped(String(min - 1n), 'x', ctype), ctype).toThrow(min === 0n ? 'negative value in option' : `below limit (${min - 1n} vs. ${min})`);
    }
    expect(() => parseCTyped('256', 'vmin=256', 'byte')).toThrow('parseopts(): option "vmin=256": byte value exceeds limit (256 vs. 255)');
  });

  it('reads the numbers of the catalog rows against their C types: tos an int, vmin a byte, sourceport an unsigned short, rcvbuf never negative', () => {
    const refusal = (name: string, value: string, groups: Parameters<typeof resolveOptions>[1]) => () => resolveOptions([{ name, value }], groups);
    expect(refusal('tos', '4294967296', ['IP4'])).toThrow('value exceeds limit (4294967296 vs. 2147483647)');
    expect(resolveOptions([{ name: 'tos', value: '-1' }], ['IP4']).number('ip-tos')).toBe(-1);
    expect(refusal('vmin', '256', ['TERMIOS'])).toThrow('byte value exceeds limit (256 vs. 255)');
    expect(refusal('sourceport', '65536', ['IP4'])).toThrow('value exceeds limit (65536 vs. 65535)');
    expect(refusal('rcvbuf', '-1', ['SOCKET'])).toThrow('negative value in option "rcvbuf=-1"');
    expect(refusal('rcvbuf', '2147483648', ['SOCKET'])).toThrow('value exceeds limit (2147483648 vs. 2147483647)');
    expect(refusal('perm', '040000000000', ['NAMED'])).toThrow('value exceeds limit (4294967296 vs. 4294967295)');
    expect(refusal('interval', '2147484', ['RETRY'])).toThrow('value exceeds limit (2147484 vs. 2147483.647)');
  });

  it('has a summary for every option', () => {
    for (const def of allOptions()) expect(def.summary.length, def.name).toBeGreaterThan(5);
  });
});
