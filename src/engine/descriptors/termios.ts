/**
 * TERMIOS options on a terminal descriptor (STDIO on a tty, OPEN:/dev/tty…):
 * read the settings, change what the options say, write them back once, and
 * hand back a function that puts the terminal back as it was, as socat does
 * when the address closes (so `STDIO,raw,echo=0` leaves a usable shell).
 */
import type { ResolvedOptions } from '../../../options/catalog.js';
import termiosOptions, { TERMIOS_CHARS, TERMIOS_DELAYS, TERMIOS_EXTRA_FLAGS, TERMIOS_FIELDS, TERMIOS_FLAGS, TERMIOS_SPEEDS, type TermiosField } from '../../../options/termios.js';
import { TsocatError } from '../../errors.js';

/** struct termios on Linux: four flag words, c_line, c_cc[32], then the two speeds. */
const OFFSET: Record<TermiosField, number> = { iflag: 0, oflag: 4, cflag: 8, lflag: 12 };
const CC_OFFSET = 17;
const VTIME = 5;
const VMIN = 6;
const CSIZE = 0o60;
const FIELDS: TermiosField[] = ['iflag', 'oflag', 'cflag', 'lflag'];

// bits the combined options touch (Linux values)
const I = { IGNBRK: 0o1, BRKINT: 0o2, IGNPAR: 0o4, PARMRK: 0o10, INPCK: 0o20, ISTRIP: 0o40, INLCR: 0o100, IGNCR: 0o200, ICRNL: 0o400, IUCLC: 0o1000, IXON: 0o2000, IXANY: 0o4000, IXOFF: 0o10000, IMAXBEL: 0o20000 };
const O = { OPOST: 0o1, OLCUC: 0o2, ONLCR: 0o4, OCRNL: 0o10, ONOCR: 0o20, ONLRET: 0o40, OFILL: 0o100, OFDEL: 0o200, DELAYS: 0o177400 };
const C = { CS8: 0o60, CREAD: 0o200, PARENB: 0o400 };
const L = { ISIG: 0o1, ICANON: 0o2, XCASE: 0o4, ECHO: 0o10, ECHOE: 0o20, ECHOK: 0o40, ECHONL: 0o100, NOFLSH: 0o200, TOSTOP: 0o400, ECHOCTL: 0o1000, ECHOPRT: 0o2000, ECHOKE: 0o4000, IEXTEN: 0o100000 };

/** The combined settings: each changes many flags at once. */
const COMBINED = new Set(['raw', 'termios-rawer', 'termios-cfmakeraw', 'sane']);
const CHARACTER_SIZES = ['cs5', 'cs6', 'cs7', 'cs8'];
const FLAG_BY_NAME = new Map([...TERMIOS_FLAGS, ...TERMIOS_EXTRA_FLAGS].map(([name, field, bit]) => [name, { field, bit }]));
/** Each delay class option (cr2, tab3…) and xtabs, which Linux spells TAB3: the c_oflag bits it takes and the value it puts there. */
const DELAY_BY_NAME = new Map<string, { mask: number; value: number }>([
  ...TERMIOS_DELAYS.flatMap(([prefix, mask, shift, classes]) => Array.from({ length: classes }, (_, n): [string, { mask: number; value: number }] => [`${prefix}${n}`, { mask, value: n << shift }])),
  ['xtabs', { mask: 0o14000, value: 0o14000 }],
]);
/**
 * socat's tiocsctty does its work in the child of EXEC…,pty: the pty becomes
 * the program's controlling terminal. tsocat has no pty for a program, and
 * anywhere else socat only detaches itself from its own terminal and warns.
 */
const CTTY_REFUSAL = 'option "tiocsctty" (ctty) not supported here by tsocat: it makes the pty of EXEC…,pty the program\'s controlling terminal';

/** Options that act on the terminal without its termios settings, so they need no tcgetattr. */
const WITHOUT_SETTINGS = new Set(['tiocswinsz']);
const CHAR_BY_NAME = new Map(TERMIOS_CHARS.map(([name, , index]) => [name, index]));
const SPEED_BY_NAME = new Map(TERMIOS_SPEEDS.map(([baud, constant]) => [`b${baud}`, constant]));

/** Every TERMIOS option name, from the catalog rows themselves; every descriptor of every connection is checked against it. */
const TERMIOS_NAMES = new Set(termiosOptions.map((def) => def.name));

/** True when any TERMIOS option is given, so descriptors without them never touch termios. */
export function hasTermiosOptions(options: ResolvedOptions): boolean {
  return options.names().some((n) => TERMIOS_NAMES.has(n));
}

class TermiosWords {
  constructor(readonly raw: Buffer) {}
  get(field: TermiosField): number {
    return this.raw.readUInt32LE(OFFSET[field]);
  }
  set(field: TermiosField, value: number): void {
    this.raw.writeUInt32LE(value >>> 0, OFFSET[field]);
  }
  change(field: TermiosField, clear: number, add = 0): void {
    this.set(field, (this.get(field) & ~clear) | add);
  }
  cc(index: number, value: number): void {
    this.raw.writeUInt8(value, CC_OFFSET + index);
  }
}

function applyCombined(name: string, t: TermiosWords): void {
  if (name === 'raw') {
    // what socat's raw clears; echo is left to echo=0
    t.change('iflag', I.IGNBRK | I.BRKINT | I.IGNPAR | I.PARMRK | I.INPCK | I.ISTRIP | I.INLCR | I.IGNCR | I.ICRNL | I.IXON | I.IXOFF | I.IUCLC | I.IXANY | I.IMAXBEL);
    t.change('oflag', O.OPOST);
    t.change('lflag', L.ISIG | L.ICANON | L.XCASE);
  } else if (name === 'termios-rawer') {
    t.set('iflag', 0);
    t.set('oflag', 0);
    t.set('lflag', 0);
    t.set('cflag', (t.get('cflag') & 0o10017) | C.CREAD | C.CS8); // keeps the speed bits
  } else if (name === 'termios-cfmakeraw') {
    t.change('iflag', I.IGNBRK | I.BRKINT | I.PARMRK | I.ISTRIP | I.INLCR | I.IGNCR | I.ICRNL | I.IXON);
    t.change('oflag', O.OPOST);
    t.change('lflag', L.ECHO | L.ECHONL | L.ICANON | L.ISIG | L.IEXTEN);
    t.change('cflag', CSIZE | C.PARENB, C.CS8);
  } else if (name === 'sane') {
    t.change('iflag', I.IGNBRK | I.INLCR | I.IGNCR | I.IXOFF | I.IUCLC | I.IXANY, I.BRKINT | I.ICRNL | I.IMAXBEL);
    t.change('oflag', O.OLCUC | O.OCRNL | O.ONOCR | O.ONLRET | O.OFILL | O.OFDEL | O.DELAYS, O.OPOST | O.ONLCR);
    t.change('cflag', 0, C.CREAD);
    t.change('lflag', L.ECHONL | L.NOFLSH | L.XCASE | L.TOSTOP | L.ECHOPRT, L.ISIG | L.ICANON | L.IEXTEN | L.ECHO | L.ECHOE | L.ECHOK | L.ECHOCTL | L.ECHOKE);
  }
  if (name !== 'sane') {
    t.cc(VMIN, 1);
    t.cc(VTIME, 0);
  }
}

/**
 * The B<rate> constant for ispeed/ospeed. The man page asks for a baud rate;
 * socat hands the number to cfset[io]speed() as it is, which with glibc before
 * 2.42 means a B<rate> constant (ispeed=13 is 9600 baud). Rates and constants
 * never overlap (0 is B0 either way), so both are taken.
 */
function speedConstant(value: number, option: string): number {
  const found = TERMIOS_SPEEDS.find(([baud, constant]) => baud === value || constant === value);
  if (!found) throw new TsocatError(`cfset${option === 'ispeed' ? 'i' : 'o'}speed(${value}): Invalid argument`, 'EINVAL');
  return found[1];
}

/** A number for a multi-bit field (csize, crdly, tabdly) must fit the field, as socat checks. */
function fieldValue(name: string, value: number): number {
  const { mask, shift } = TERMIOS_FIELDS[name] as { mask: number; shift: number };
  if (value < 0 || value > mask >>> shift) throw new TsocatError(`option ${name}: invalid value ${value}`, 'EOPTVALUE');
  return value << shift;
}

/** The two numbers of an `<a>:<b>` option, as the catalog keeps them. */
function numberPair(options: ResolvedOptions, name: string): [number, bigint] {
  const [first, second] = (options.string(name) ?? '0:0').split(':');
  return [Number(first), BigInt(second ?? 0)];
}

/** termios-setflags=<word>:<value>: one whole flag word, as socat sets it (the value cut to tcflag_t's 32 bits). */
function setWholeWord(fd: number, options: ResolvedOptions, t: TermiosWords): void {
  const [word, value] = numberPair(options, 'termios-setflags');
  const bits = Number(BigInt.asUintN(32, value));
  const field = FIELDS[word];
  if (!field) throw new TsocatError(`xiotermios_setflags(fd=${fd}, word=${word}, val=${bits}): word must be 0..3`, 'EOPTVALUE');
  t.set(field, bits);
}

/** Applies one TERMIOS option to the settings being built. */
function applyOne(fd: number, name: string, options: ResolvedOptions, t: TermiosWords, setSpeed: (which: 'in' | 'out' | 'both', constant: number) => void): void {
  const flag = FLAG_BY_NAME.get(name);
  const speed = SPEED_BY_NAME.get(name);
  const charIndex = CHAR_BY_NAME.get(name);
  const delay = DELAY_BY_NAME.get(name);
  if (COMBINED.has(name)) {
    applyCombined(name, t);
  } else if (flag) {
    t.change(flag.field, flag.bit, options.bool(name) ? flag.bit : 0);
  } else if (delay) {
    t.change('oflag', delay.mask, delay.value);
  } else if (speed !== undefined) {
    setSpeed('both', speed);
  } else if (name === 'ispeed' || name === 'ospeed') {
    setSpeed(name === 'ispeed' ? 'in' : 'out', speedConstant(options.number(name) ?? 0, name));
  } else if (CHARACTER_SIZES.includes(name)) {
    t.change('cflag', CSIZE, CHARACTER_SIZES.indexOf(name) << 4);
  } else if (TERMIOS_FIELDS[name]) {
    const { field, mask } = TERMIOS_FIELDS[name];
    t.change(field, mask, fieldValue(name, options.number(name) ?? 0));
  } else if (name === 'termios-setflags') {
    setWholeWord(fd, options, t);
  } else if (charIndex !== undefined) {
    const value = options.number(name) ?? 0;
    if (value > 255) throw new TsocatError(`${name}=${value}: a terminal character is one byte (0 to 255)`, 'EOPTVALUE');
    t.cc(charIndex, value);
  }
}

/**
 * tiocswinsz=<cols>:<rows>: the window size, set at once (it is no part of
 * the termios settings, and is not put back). socat warns and clamps a size
 * outside 0..65535; tsocat refuses it (docs/differences.md).
 */
async function setWindowSizeOption(fd: number, options: ResolvedOptions): Promise<void> {
  const [cols, rows] = numberPair(options, 'tiocswinsz').map(Number) as [number, number];
  for (const [what, n] of [['col', cols], ['row', rows]] as const) {
    if (n < 0 || n > 0xffff) throw new TsocatError(`tiocswinsz: ${what} ${n} is outside range 0..65535`, 'EOPTVALUE');
  }
  const { setWindowSize } = await import('../../sys/libc.js');
  setWindowSize(fd, cols, rows);
}

/**
 * Applies the TERMIOS options to `fd`, in the order they were given (as socat
 * does: `vmin=5,raw` ends with raw's vmin, `b300,b9600` with 9600 baud).
 * Returns the function that restores the settings found, or undefined when no
 * TERMIOS option was given.
 */
export async function applyTermiosOptions(fd: number, options: ResolvedOptions): Promise<(() => void) | undefined> {
  if (!hasTermiosOptions(options)) return undefined;
  if (options.has('tiocsctty')) throw new TsocatError(CTTY_REFUSAL, 'EOPTGROUP');
  const names = options.names().filter((n) => TERMIOS_NAMES.has(n));
  if (names.every((n) => WITHOUT_SETTINGS.has(n))) {
    await setWindowSizeOption(fd, options);
    return undefined;
  }
  const { getTermios, setTermios, setTermiosSpeed } = await import('../../sys/libc.js');
  const saved = getTermios(fd);
  const t = new TermiosWords(Buffer.from(saved));
  const setSpeed = (which: 'in' | 'out' | 'both', constant: number) => setTermiosSpeed(t.raw, which, constant);
  for (const name of names) {
    if (name === 'tiocswinsz') await setWindowSizeOption(fd, options);
    else applyOne(fd, name, options, t, setSpeed);
  }
  setTermios(fd, t.raw);
  const restore = () => {
    if (!unrestored.delete(restore)) return;
    try {
      setTermios(fd, saved);
    } catch {
      // the terminal went away (a hung-up line): nothing left to restore
    }
  };
  if (!exitHookInstalled) process.once('exit', restoreAll);
  exitHookInstalled = true;
  unrestored.add(restore);
  return restore;
}

/** Terminals changed and not yet put back; a terminal left raw is a broken shell, so exit restores them too. */
const unrestored = new Set<() => void>();
let exitHookInstalled = false;

function restoreAll(): void {
  for (const restore of [...unrestored]) restore();
}
