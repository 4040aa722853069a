import { defineOptions, type OptionDef } from './catalog.js';

/** Which word of struct termios a flag lives in. */
export type TermiosField = 'iflag' | 'oflag' | 'cflag' | 'lflag';

/**
 * Terminal flags as stty names them, by option name; value 1 sets the flag,
 * 0 clears it. Bits are Linux's (asm-generic/termbits.h).
 */
export const TERMIOS_FLAGS: Array<[name: string, field: TermiosField, bit: number, summary: string]> = [
  ['ignbrk', 'iflag', 0o1, 'ignore a break condition'],
  ['brkint', 'iflag', 0o2, 'a break flushes the queues and sends SIGINT'],
  ['ignpar', 'iflag', 0o4, 'ignore bytes with framing or parity errors'],
  ['parmrk', 'iflag', 0o10, 'mark bytes with parity errors'],
  ['inpck', 'iflag', 0o20, 'check the parity of input'],
  ['istrip', 'iflag', 0o40, 'strip the eighth bit of input'],
  ['inlcr', 'iflag', 0o100, 'turn NL into CR on input'],
  ['igncr', 'iflag', 0o200, 'ignore CR on input'],
  ['icrnl', 'iflag', 0o400, 'turn CR into NL on input'],
  ['ixon', 'iflag', 0o2000, 'XON/XOFF flow control on output'],
  ['ixany', 'iflag', 0o4000, 'any byte restarts stopped output'],
  ['ixoff', 'iflag', 0o10000, 'XON/XOFF flow control on input'],
  ['imaxbel', 'iflag', 0o20000, 'ring the bell when the input queue is full'],
  ['opost', 'oflag', 0o1, 'process output (turns on onlcr and the like)'],
  ['onlcr', 'oflag', 0o4, 'turn NL into CR-NL on output'],
  ['ocrnl', 'oflag', 0o10, 'turn CR into NL on output'],
  ['onocr', 'oflag', 0o20, 'send no CR at column 0'],
  ['onlret', 'oflag', 0o40, 'NL also returns the carriage'],
  ['cstopb', 'cflag', 0o100, 'two stop bits instead of one'],
  ['cread', 'cflag', 0o200, 'enable the receiver (a pty keeps it on: cread=0 fails in tcsetattr)'],
  ['parenb', 'cflag', 0o400, 'generate and check parity (a pty has none: tcsetattr fails)'],
  ['parodd', 'cflag', 0o1000, 'odd parity instead of even'],
  ['hupcl', 'cflag', 0o2000, 'hang up when the last process closes the device'],
  ['clocal', 'cflag', 0o4000, 'ignore modem control lines'],
  ['crtscts', 'cflag', 0o20000000000, 'RTS/CTS hardware flow control'],
  ['isig', 'lflag', 0o1, 'INTR, QUIT and SUSP characters send signals'],
  ['icanon', 'lflag', 0o2, 'canonical (line by line) input'],
  ['echo', 'lflag', 0o10, 'echo input'],
  ['echoe', 'lflag', 0o20, 'ERASE erases the previous character'],
  ['echok', 'lflag', 0o40, 'KILL erases the line'],
  ['echonl', 'lflag', 0o100, 'echo NL even without echo'],
  ['noflsh', 'lflag', 0o200, 'do not flush queues on INTR and QUIT'],
  ['tostop', 'lflag', 0o400, 'background jobs that write get SIGTTOU'],
  ['echoctl', 'lflag', 0o1000, 'echo control characters as ^X'],
  ['echoprt', 'lflag', 0o2000, 'print erased characters'],
  ['echoke', 'lflag', 0o4000, 'KILL erases each character of the line'],
  ['iexten', 'lflag', 0o100000, 'implementation-defined input processing'],
];

/**
 * socat's further flags, kept apart from TERMIOS_FLAGS because stty does not
 * print them under these names (the delay bits are nl1, bs1…; pendin not at
 * all) or because they change what stty prints (olcuc). Each one Linux bit.
 */
export const TERMIOS_EXTRA_FLAGS: Array<[name: string, field: TermiosField, bit: number, summary: string]> = [
  ['iuclc', 'iflag', 0o1000, 'turn upper case input into lower case'],
  ['olcuc', 'oflag', 0o2, 'turn lower case output into upper case'],
  ['ofill', 'oflag', 0o100, 'send fill characters for a delay instead of waiting'],
  ['ofdel', 'oflag', 0o200, 'the fill character is DEL (0x7f), not NUL'],
  ['nldly', 'oflag', 0o400, 'the newline delay class: 1 is nl1, 0 is nl0'],
  ['bsdly', 'oflag', 0o20000, 'the backspace delay class: 1 is bs1, 0 is bs0'],
  ['vtdly', 'oflag', 0o40000, 'the vertical tab delay class: 1 is vt1, 0 is vt0'],
  ['ffdly', 'oflag', 0o100000, 'the form feed delay class: 1 is ff1, 0 is ff0'],
  ['xcase', 'lflag', 0o4, 'with icanon, upper case is shown and typed as \\ and lower case'],
  ['flusho', 'lflag', 0o10000, 'output is being discarded (what the DISCARD character toggles)'],
  ['pendin', 'lflag', 0o40000, 'the input queue is to be reprinted when the next character is read'],
];

/**
 * The output delay classes: the bits of c_oflag they take and how many
 * classes there are. Each class <prefix><n> is an option of its own (cr0…cr3);
 * the two-bit fields also take the class as a number (crdly=2, tabdly=3).
 */
export const TERMIOS_DELAYS: Array<[prefix: string, mask: number, shift: number, classes: number]> = [
  ['nl', 0o400, 8, 2],
  ['cr', 0o3000, 9, 4],
  ['tab', 0o14000, 11, 4],
  ['bs', 0o20000, 13, 2],
  ['vt', 0o40000, 14, 2],
  ['ff', 0o100000, 15, 2],
];

/** The multi-bit fields an option sets as a number: the flag word, mask and shift (socat's csize, crdly, tabdly). */
export const TERMIOS_FIELDS: Record<string, { field: TermiosField; mask: number; shift: number }> = {
  csize: { field: 'cflag', mask: 0o60, shift: 4 },
  crdly: { field: 'oflag', mask: 0o3000, shift: 9 },
  tabdly: { field: 'oflag', mask: 0o14000, shift: 11 },
};

const DELAY_WHAT: Record<string, string> = { nl: 'newlines', cr: 'carriage returns', tab: 'tabs (tab3 expands them to spaces)', bs: 'backspaces', vt: 'vertical tabs', ff: 'form feeds' };

/** socat's other names for some flags and characters (stty's and BSD's words). */
const MORE_ALIASES: Record<string, string[]> = {
  echoe: ['crterase'],
  echoke: ['crtkill'],
  echoctl: ['ctlecho'],
  echoprt: ['prterase'],
  hupcl: ['hup'],
  ixoff: ['tandem'],
  vreprint: ['rprnt'],
  vswtc: ['swtch'],
};

/** Line speeds: the B<rate> constant of each baud rate Linux knows. */
export const TERMIOS_SPEEDS: Array<[baud: number, constant: number]> = [
  [0, 0o0], [50, 0o1], [75, 0o2], [110, 0o3], [134, 0o4], [150, 0o5], [200, 0o6], [300, 0o7], [600, 0o10],
  [1200, 0o11], [1800, 0o12], [2400, 0o13], [4800, 0o14], [9600, 0o15], [19200, 0o16], [38400, 0o17],
  [57600, 0o10001], [115200, 0o10002], [230400, 0o10003], [460800, 0o10004], [500000, 0o10005], [576000, 0o10006],
  [921600, 0o10007], [1000000, 0o10010], [1152000, 0o10011], [1500000, 0o10012], [2000000, 0o10013],
  [2500000, 0o10014], [3000000, 0o10015], [3500000, 0o10016], [4000000, 0o10017],
];

/** Special characters, by option name and socat's short alias: their index in c_cc[] (Linux). */
export const TERMIOS_CHARS: Array<[name: string, alias: string, index: number, summary: string]> = [
  ['vintr', 'intr', 0, 'the character that sends SIGINT'],
  ['vquit', 'quit', 1, 'the character that sends SIGQUIT'],
  ['verase', 'erase', 2, 'the character that erases the previous one'],
  ['vkill', 'kill', 3, 'the character that erases the line'],
  ['veof', 'eof', 4, 'the character that ends input'],
  ['vtime', 'time', 5, 'without icanon: a read waits at most this many tenths of a second'],
  ['vmin', 'min', 6, 'without icanon: a read waits for at least this many bytes'],
  ['vswtc', 'swtc', 7, 'the switch character'],
  ['vstart', 'start', 8, 'the character that restarts output (XON)'],
  ['vstop', 'stop', 9, 'the character that stops output (XOFF)'],
  ['vsusp', 'susp', 10, 'the character that sends SIGTSTP'],
  ['veol', 'eol', 11, 'an extra end-of-line character'],
  ['vreprint', 'reprint', 12, 'the character that reprints the line'],
  ['vdiscard', 'discard', 13, 'the character that toggles discarding output'],
  ['vwerase', 'werase', 14, 'the character that erases a word'],
  ['vlnext', 'lnext', 15, 'the character that quotes the next one'],
  ['veol2', 'eol2', 16, 'a second extra end-of-line character'],
];

const aliasesOf = (name: string, ...own: string[]) => [...own, ...(MORE_ALIASES[name] ?? [])];
const charOptions: OptionDef[] = TERMIOS_CHARS.map(([name, alias, , summary]) => ({ name, aliases: aliasesOf(name, alias), type: 'uint', ctype: 'byte', groups: ['TERMIOS'], phase: 'fd', summary: `${summary} (a byte value)` }));
const flagOptions: OptionDef[] = [...TERMIOS_FLAGS, ...TERMIOS_EXTRA_FLAGS].map(([name, , , summary]) => ({ name, aliases: aliasesOf(name), type: 'bool', groups: ['TERMIOS'], phase: 'fd', summary }));
const speedOptions: OptionDef[] = TERMIOS_SPEEDS.map(([baud]) => ({ name: `b${baud}`, type: 'const', groups: ['TERMIOS'], phase: 'fd', summary: `line speed ${baud} baud, both ways` }));
const delayOptions: OptionDef[] = TERMIOS_DELAYS.flatMap(([prefix, , , classes]) =>
  Array.from({ length: classes }, (_, n): OptionDef => ({ name: `${prefix}${n}`, type: 'const', groups: ['TERMIOS'], phase: 'fd', summary: `output delay class ${n} for ${DELAY_WHAT[prefix]}` })),
);

/**
 * Terminal options; socat's TERMIOS group. They take effect in the order given
 * (`vmin=5,raw` ends with raw's vmin of 1), as in socat. tsocat puts the
 * terminal back as it found it when the address closes.
 */
export default defineOptions([
  ...flagOptions,
  ...speedOptions,
  ...charOptions,
  ...delayOptions,
  { name: 'raw', type: 'const', groups: ['TERMIOS'], phase: 'fd', summary: 'raw input: no signals, no line editing, no input or output translation (echo stays as it is)' },
  { name: 'termios-rawer', aliases: ['rawer'], type: 'const', groups: ['TERMIOS'], phase: 'fd', summary: 'rawer than raw: every flag off but cread and cs8, echo too' },
  { name: 'termios-cfmakeraw', aliases: ['cfmakeraw'], type: 'const', groups: ['TERMIOS'], phase: 'fd', summary: 'what cfmakeraw(3) does' },
  { name: 'sane', type: 'const', groups: ['TERMIOS'], phase: 'fd', summary: 'reasonable interactive settings, as stty sane' },
  { name: 'csize', type: 'uint', groups: ['TERMIOS'], phase: 'fd', summary: 'character size as a number: 0 to 3 for 5 to 8 bits (a pty keeps 8: tcsetattr fails for 6 and 7, and 5 is silently 8)' },
  { name: 'cs5', type: 'const', groups: ['TERMIOS'], phase: 'fd', summary: '5 bit characters (a pty stays at 8, and no error says so)' },
  { name: 'cs6', type: 'const', groups: ['TERMIOS'], phase: 'fd', summary: '6 bit characters (a pty refuses: tcsetattr fails)' },
  { name: 'cs7', type: 'const', groups: ['TERMIOS'], phase: 'fd', summary: '7 bit characters (a pty refuses: tcsetattr fails)' },
  { name: 'cs8', type: 'const', groups: ['TERMIOS'], phase: 'fd', summary: '8 bit characters' },
  { name: 'ispeed', type: 'uint', groups: ['TERMIOS'], phase: 'fd', summary: 'input line speed in baud, or a B<rate> constant as socat passes it on (13 is 9600); glibc before 2.42 sets the output speed too' },
  { name: 'crdly', type: 'uint', groups: ['TERMIOS'], phase: 'fd', summary: 'the carriage return delay class as a number, 0 to 3 (cr0 to cr3)' },
  { name: 'tabdly', type: 'uint', groups: ['TERMIOS'], phase: 'fd', summary: 'the tab delay class as a number, 0 to 3 (tab0 to tab3; 3 expands tabs to spaces)' },
  { name: 'xtabs', type: 'const', groups: ['TERMIOS'], phase: 'fd', summary: 'expand tabs to spaces on output (tab3)' },
  { name: 'termios-setflags', aliases: ['setflags'], type: 'int:ulong', groups: ['TERMIOS'], phase: 'fd', summary: '<word>:<value>: set flag word 0 (c_iflag), 1 (c_oflag), 2 (c_cflag) or 3 (c_lflag) to the number <value> as a whole' },
  { name: 'tiocswinsz', aliases: ['winsz'], type: 'int:int', groups: ['TERMIOS'], phase: 'fd', summary: '<cols>:<rows>: set the window size of the terminal (TIOCSWINSZ), 0 to 65535 each' },
  { name: 'tiocsctty', aliases: ['ctty'], type: 'bool', groups: ['TERMIOS'], phase: 'late', summary: "with EXEC/SYSTEM/SHELL and pty: make the pty the program's controlling terminal (with setsid); refused on any other terminal (docs/differences.md)" },
  { name: 'ospeed', type: 'uint', groups: ['TERMIOS'], phase: 'fd', summary: 'output line speed in baud, or a B<rate> constant as socat passes it on (13 is 9600)' },
]);
