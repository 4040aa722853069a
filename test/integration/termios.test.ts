/**
 * TERMIOS options on a real terminal: script(1) gives each command line its
 * own pseudo-terminal, and stty reports what the relay's terminal looked like
 * during the relay and after it.
 */
import { describe, expect, it } from 'vitest';
import { requireOrSkip, requires, run, SOCAT, TSOCAT, tsocat } from '../helpers.js';

interface TerminalStates {
  /** `stty -g` (every setting, in one word) before, during and after the relay. */
  before: string;
  during: string;
  after: string;
  /** `stty -a` during the relay, for reading single flags. */
  duringText: string;
  status: string;
}

/** Runs `tool -u <address> SYSTEM:stty…` with a fresh pty as stdin and reports the terminal's settings around it. */
async function terminalAround(tool: string[], address: string): Promise<TerminalStates> {
  const relay = `${tool.map((a) => `'${a}'`).join(' ')} -u '${address}' 'SYSTEM:stty -g </dev/tty; stty -a </dev/tty'`;
  const body = `echo "before: $(stty -g)"; out=$(${relay} </dev/tty); echo "status: $?"; echo "$out" | sed "s/^/during: /"; echo "after: $(stty -g)"`;
  const r = await run('script', ['-qec', body, '/dev/null'], { timeoutMs: 15000 });
  const lines = r.stdout.toString().replace(/\r/g, '').split('\n');
  const tagged = (tag: string) => lines.filter((l) => l.startsWith(`${tag}: `)).map((l) => l.slice(tag.length + 2));
  const during = tagged('during');
  return { before: tagged('before')[0] ?? '', during: during[0] ?? '', after: tagged('after')[0] ?? '', duringText: during.slice(1).join('\n'), status: tagged('status')[0] ?? `(none: ${r.stderr})` };
}

/** The flags of `stty -a` text, each as stty prints it (`echo` or `-echo`). */
const flagsOf = (text: string) => new Set(text.split(/[\s;]+/));

describe('TERMIOS options on a terminal', () => {
  requires('script');

  it('STDIO,raw,echo=0 makes the terminal raw for the relay and puts it back after', async () => {
    const t = await terminalAround([process.execPath, TSOCAT], 'STDIO,raw,echo=0');
    expect(t.status).toBe('0');
    expect(t.during).not.toBe(t.before);
    for (const flag of ['echo', 'icanon', 'isig', 'opost']) expect(flagsOf(t.duringText)).toContain(`-${flag}`);
    expect(t.after).toBe(t.before);
  });

  it('rawer, a line speed and vmin', async () => {
    const t = await terminalAround([process.execPath, TSOCAT], 'STDIO,rawer,b9600,vmin=3');
    expect(t.duringText).toMatch(/speed 9600 baud/);
    expect(t.duringText).toMatch(/min = 3;/);
    for (const flag of ['echo', 'icanon', 'isig', 'opost', 'icrnl']) expect(flagsOf(t.duringText)).toContain(`-${flag}`);
    expect(t.after).toBe(t.before);
  });

  it('sets the terminal exactly as socat does, and leaves it as socat does', async (ctx) => {
    requireOrSkip(ctx, 'socat');
    // (rawer is left out: socat's clears the line speed to B0, a hang-up on a serial line; tsocat keeps the speed)
    for (const address of ['STDIO,raw,echo=0', 'STDIO,cfmakeraw', 'STDIO,raw,sane', 'STDIO,icanon=0,min=2,time=5,b19200', 'STDIO,crnl,onlcr=0', 'STDIO,intr=1,erase=8,veol=10']) {
      const ours = await terminalAround([process.execPath, TSOCAT], address);
      const theirs = await terminalAround([SOCAT as string], address);
      // the exit status is left out: a byte script(1) forwards can reach socat after the program ended (EPIPE, a race)
      const states = (t: TerminalStates) => ({ address, before: t.before, during: t.during, after: t.after });
      expect(states(ours)).toEqual(states(theirs));
    }
  });

  it('a line speed the system has no constant for is refused in socat\'s words, and the terminal is left alone', async () => {
    const t = await terminalAround([process.execPath, TSOCAT], 'STDIO,ispeed=12345');
    expect(t.status).toBe('1');
    expect(t.after).toBe(t.before);
  });

  it('a terminal option on something that is not a terminal is one E line and status 1', async () => {
    const r = await tsocat(['-u', '/dev/null,echo=0', 'STDOUT']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^\S+ \S+ tsocat\[\d+\] E tcgetattr\(\d+\): Inappropriate ioctl for device\n$/);
  });
});
