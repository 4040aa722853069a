/**
 * The rest of socat 1.8's TERMIOS options, on a real pseudo-terminal made by
 * script(1): the output delay classes (nl0…ff1, crdly, tabdly, xtabs), the
 * old-terminal flags (xcase, iuclc, olcuc, ofill, ofdel), flusho and pendin,
 * termios-setflags, tiocswinsz and socat's extra aliases. Each command line
 * `tsocat -u STDIO,<options> SYSTEM:stty…` runs on the pty, and the relay's
 * program reports the terminal (`stty -g`, `stty size`) while tsocat holds it.
 */
import { describe, expect, it } from 'vitest';
import { TERMIOS_DELAYS, TERMIOS_EXTRA_FLAGS } from '../../options/termios.js';
import { requireOrSkip, requires, run, SOCAT, socat18OrSkip, tsocat, TSOCAT } from '../helpers.js';

const TSOCAT_CMD = [process.execPath, TSOCAT];

interface Case {
  address: string;
  /** stty arguments for the pty before the relay starts (undone after). */
  setup?: string;
}

interface Reading {
  status: number;
  /** c_iflag, c_oflag, c_cflag, c_lflag while the relay held the terminal (empty when it failed). */
  words: number[];
  /** `stty -g` as printed, for comparing with socat. */
  settings: string;
  /** `stty size`: "<rows> <columns>". */
  size: string;
  /** the relay's log lines, each from its level letter on. */
  log: string[];
}

const FIELD_INDEX = { iflag: 0, oflag: 1, cflag: 2, lflag: 3 } as const;
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs the cases one after another on one fresh pty, each relay bounded by timeout(1), the pty put back between them. */
async function readings(tool: string[], cases: Case[]): Promise<Reading[]> {
  const steps = cases.map(({ address, setup }, i) => {
    const relay = `${tool.map(quote).join(' ')} -u ${quote(address)} 'SYSTEM:stty -g </dev/tty; stty size </dev/tty'`;
    return `${setup ? `stty ${setup}; ` : ''}out=$(timeout --foreground 10 ${relay} </dev/tty 2>&1); st=$?; stty "$first"; printf '%s\\n' "$out" | sed "s/^/${i}| /"; echo "${i}| $st"`;
  });
  const r = await run('script', ['-qec', `first=$(stty -g); stty rows 0 cols 0; ${steps.join('; ')}`, '/dev/null'], { timeoutMs: 20000 + cases.length * 5000 });
  const lines = r.stdout.toString().replace(/\r/g, '').split('\n');
  return cases.map((_, i) => {
    const own = lines.filter((l) => l.startsWith(`${i}| `)).map((l) => l.slice(`${i}| `.length));
    const settings = own.find((l) => /^[0-9a-f]+(:[0-9a-f]+){20,}$/i.test(l)) ?? '';
    return {
      status: Number(own.at(-1) ?? -1),
      words: settings ? settings.split(':').slice(0, 4).map((w) => Number.parseInt(w, 16)) : [],
      settings: settings.toLowerCase(),
      size: own.find((l) => /^\d+ \d+$/.test(l)) ?? '',
      log: own.filter((l) => /^\d{4}\/\d\d\/\d\d /.test(l)).map((l) => l.replace(/^.*?\] /, '')),
    };
  });
}

/** The pty's own four flag words, before any relay. */
async function defaultWords(): Promise<number[]> {
  const r = await run('script', ['-qec', 'stty -g', '/dev/null'], { timeoutMs: 10000 });
  return r.stdout.toString().trim().split(':').slice(0, 4).map((w) => Number.parseInt(w, 16));
}

/** The words with one field changed: `clear` bits off, then `add` on. */
function changed(words: number[], field: keyof typeof FIELD_INDEX, clear: number, add: number): number[] {
  const out = [...words];
  const i = FIELD_INDEX[field];
  out[i] = (((out[i] as number) & ~clear) | add) >>> 0;
  return out;
}

describe('the rest of the TERMIOS options on a pty', () => {
  requires('script');

  // one test per option, so that the ablation check reruns only that option's test
  it.each(TERMIOS_EXTRA_FLAGS.map(([name, field, bit]) => ({ name, field, bit })))('$name=1 sets its bit, $name=0 clears it again (applied in order after setflags)', async ({ name, field, bit }) => {
    const defaults = await defaultWords();
    const word = FIELD_INDEX[field];
    const withBit = ((defaults[word] as number) | bit) >>> 0;
    const [on, off] = await readings(TSOCAT_CMD, [{ address: `STDIO,${name}=1` }, { address: `STDIO,setflags=${word}:0x${withBit.toString(16)},${name}=0` }]);
    expect(on).toMatchObject({ status: 0, log: [], words: changed(defaults, field, 0, bit) });
    expect(off).toMatchObject({ status: 0, log: [], words: changed(defaults, field, bit, 0) });
  });

  const classes = TERMIOS_DELAYS.flatMap(([prefix, mask, shift, count]) => Array.from({ length: count }, (_, n) => ({ name: `${prefix}${n}`, mask, value: n << shift, other: `${prefix}${n === 0 ? 1 : 0}` })));
  it.each([...classes, { name: 'xtabs', mask: 0o14000, value: 0o14000, other: 'tab0' }])('$name puts its delay class into c_oflag', async ({ name, mask, value, other }) => {
    const defaults = await defaultWords();
    // from the other class, so that an option that did nothing shows
    const [outcome] = await readings(TSOCAT_CMD, [{ address: `STDIO,${name}`, setup: other }]);
    expect(outcome).toMatchObject({ status: 0, log: [], words: changed(defaults, 'oflag', mask, value) });
  });

  it.each([
    ['crdly', 0o3000, 9],
    ['tabdly', 0o14000, 11],
  ] as const)('%s=<n> takes the delay class as a number, 0 to 3', async (name, mask, shift) => {
    const defaults = await defaultWords();
    const cases = [0, 1, 2, 3].map((n) => ({ address: `STDIO,${name}=${n}`, setup: name === 'crdly' ? (n === 0 ? 'cr3' : 'cr0') : n === 0 ? 'tab3' : 'tab0' }));
    const outcomes = await readings(TSOCAT_CMD, cases);
    expect(outcomes.map((o) => (o.words[1] as number) & mask)).toEqual([0, 1, 2, 3].map((n) => n << shift));
    expect(outcomes.map((o) => changed(o.words, 'oflag', mask, 0))).toEqual(cases.map(() => changed(defaults, 'oflag', mask, 0)));
  });

  it('termios-setflags=<word>:<value> (setflags) sets a whole flag word, in order with the other options', async () => {
    const defaults = await defaultWords();
    const cases = ['termios-setflags=1:0x1d', 'setflags=3:0', 'setflags=3:0,echo=1', 'echo=1,setflags=3:0', 'setflags=0:0x2500'].map((o) => ({ address: `STDIO,${o}` }));
    const outcomes = await readings(TSOCAT_CMD, cases);
    expect(outcomes.map((o) => o.status)).toEqual(cases.map(() => 0));
    expect(outcomes.map((o) => o.words)).toEqual([
      changed(defaults, 'oflag', ~0, 0x1d),
      changed(defaults, 'lflag', ~0, 0),
      changed(defaults, 'lflag', ~0, 0o10),
      changed(defaults, 'lflag', ~0, 0),
      changed(defaults, 'iflag', ~0, 0x2500),
    ]);
  });

  it('tiocswinsz=<cols>:<rows> (winsz) sets the window size of the terminal', async () => {
    const cases = [{ address: 'STDIO,tiocswinsz=132:43' }, { address: 'STDIO,winsz=0x50:0x18,echo=0' }, { address: 'STDIO,winsz=0:0', setup: 'rows 5 cols 6' }];
    const outcomes = await readings(TSOCAT_CMD, cases);
    expect(outcomes.map((o) => `${o.status} ${o.size}`)).toEqual(['0 43 132', '0 24 80', '0 0 0']);
  });

  it("socat's other names: crterase, crtkill, ctlecho, prterase, hup, tandem, rprnt, swtch", async () => {
    const defaults = await defaultWords();
    const [outcome] = await readings(TSOCAT_CMD, [{ address: 'STDIO,crterase=0,crtkill=0,ctlecho=0,prterase=1,hup=1,tandem=1,rprnt=4,swtch=3' }]);
    expect(outcome.status).toBe(0);
    let want = changed(defaults, 'lflag', 0o20 | 0o4000 | 0o1000, 0o2000);
    want = changed(want, 'cflag', 0, 0o2000);
    want = changed(want, 'iflag', 0, 0o10000);
    expect(outcome.words).toEqual(want);
    const cc = outcome.settings.split(':').slice(4);
    expect([cc[12], cc[7]]).toEqual(['4', '3']);
  });

  it('values a terminal cannot take are one E line and status 1, in socat\'s words', async () => {
    const cases = ['crdly=4', 'tabdly=9', 'csize=4', 'setflags=4:1', 'setflags=-1:0', 'winsz=70000:24', 'winsz=80:-1'].map((o) => ({ address: `STDIO,${o}` }));
    const outcomes = await readings(TSOCAT_CMD, cases);
    expect(outcomes.map((o) => `${o.status} ${o.log.join(' | ')}`)).toEqual([
      '1 E option crdly: invalid value 4',
      '1 E option tabdly: invalid value 9',
      '1 E option csize: invalid value 4',
      '1 E xiotermios_setflags(fd=0, word=4, val=1): word must be 0..3',
      '1 E xiotermios_setflags(fd=0, word=-1, val=0): word must be 0..3',
      '1 E tiocswinsz: col 70000 is outside range 0..65535',
      '1 E tiocswinsz: row -1 is outside range 0..65535',
    ]);
  });

  it('ctty (tiocsctty) on a terminal that is not a program\'s pty is refused (it is for EXEC…,pty)', async () => {
    const [outcome] = await readings(TSOCAT_CMD, [{ address: 'STDIO,ctty' }]);
    expect(outcome.status).toBe(1);
    expect(outcome.log).toEqual(["E option \"tiocsctty\" (ctty) not supported here by tsocat: it makes the pty of EXEC…,pty the program's controlling terminal"]);
  });
});

describe('badly written values are refused before anything opens', () => {
  it.each([
    ['/dev/null,setflags=1', 'parseopts(): option "termios-setflags": 2 arguments required'],
    ['/dev/null,setflags=x:1', 'parseopts(): missing numerical value of option "setflags=x:1"'],
    ['/dev/null,winsz=80', 'parseopts(): option "tiocswinsz": 2 arguments required'],
    ['/dev/null,winsz=80x', 'parseopts(): missing numerical value of option "winsz=80x"'],
    ['/dev/null,winsz=80:', 'parseopts(): missing numerical value of option "winsz=80:"'],
    ['/dev/null,winsz=80:24:3', 'parseopts(): trailing garbage in numerical arg of option "winsz=80:24:3"'],
    ['/dev/null,winsz', 'option "winsz": values required'],
    ['/dev/null,xtabs=1', 'no value permitted for option "xtabs"'],
    ['/dev/null,cr2=1', 'no value permitted for option "cr2"'],
    ['/dev/null,crdly=x', 'parseopts(): missing numerical value of option "crdly=x"'],
    ['/dev/null,olcuc=maybe', 'parseopts(): missing numerical value of option "olcuc=maybe"'],
  ])('%s', async (address, message) => {
    const r = await tsocat(['-u', address, 'STDOUT']);
    expect(r.status).toBe(1);
    expect(r.stderr.replace(/^\S+ \S+ tsocat\[\d+\] /, '')).toBe(`E ${message}\n`);
  });

  it('a window size on something that is not a terminal is the ioctl error', async () => {
    const r = await tsocat(['-u', '/dev/null,winsz=80:24', 'STDOUT']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ E ioctl\(\d+, TIOCSWINSZ, \{ 80,24 \}\): Inappropriate ioctl for device\n$/);
  });
});

const COMPARED = [
  'STDIO,iuclc,olcuc,ofill,ofdel,xcase,flusho,pendin',
  'STDIO,nl1,cr2,tab1,bs1,vt1,ff1',
  'STDIO,crdly=3,tabdly=2,nldly=1,bsdly=1,vtdly=1,ffdly=1',
  'STDIO,tab3,xtabs,tab2',
  'STDIO,crterase=0,crtkill=0,ctlecho=0,prterase=1,hup=1,tandem=1,rprnt=4,swtch=3',
];
const COMPARED_18 = ['STDIO,setflags=1:0x1d', 'STDIO,echo=1,setflags=3:0', 'STDIO,setflags=0:0x2500,icrnl=1', 'STDIO,winsz=132:43', 'STDIO,crdly=4', 'STDIO,setflags=4:1'];

describe('the same terminal as socat', () => {
  requires('script');

  const compare = async (tool: string, addresses: string[]) => {
    const cases = addresses.map((address) => ({ address }));
    const view = (o: Reading[]) => o.map((x, i) => ({ address: addresses[i], ok: x.status === 0, settings: x.settings, size: x.size, log: x.log.map((l) => l.replace(/\(\d+, 0x[0-9a-f]+\)/, '')) }));
    expect(view(await readings(TSOCAT_CMD, cases))).toEqual(view(await readings([tool], cases)));
  };

  it('as socat 1.7.4.4, for the options it has', async (ctx) => {
    requireOrSkip(ctx, 'socat');
    await compare(SOCAT as string, COMPARED);
  });

  it('as socat 1.8.1.1, setflags and winsz too', async (ctx) => {
    const socat18 = socat18OrSkip(ctx, 'Debian ships 1.7.4.4, which lacks termios-setflags and tiocswinsz');
    await compare(socat18, [...COMPARED, ...COMPARED_18]);
  });
});
