/**
 * The same command line through tsocat and through real socat: same bytes on
 * stdout, same exit status, same files left behind. Each tool runs in its own
 * fresh directory with the same contents, so relative paths make the command
 * lines identical. Log wording is not compared: Debian ships socat 1.7.4 and
 * tsocat follows 1.8 (see docs/differences.md).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, type RunResult, requires, run, SOCAT, TSOCAT, tempDir, waitForPort } from '../helpers.js';

type Tool = 'socat' | 'tsocat';

interface Outcome {
  status: number | null;
  stdout: string;
  files: Record<string, string | null>;
}

interface Case {
  /** The command line, the same for both tools. */
  args: string[];
  input?: string;
  /** Files (relative path → content) created in the tool's directory first. */
  files?: Record<string, string>;
  /** Files whose content after the run is part of the outcome (null: absent). */
  compareFiles?: string[];
  /** socat itself prints nothing and succeeds: the point is that tsocat does the same. */
  quiet?: boolean;
}

function runTool(tool: Tool, args: string[], opts: { input?: string; cwd: string; timeoutMs?: number }): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 8000;
  return tool === 'socat'
    ? run(SOCAT!, args, { input: opts.input, cwd: opts.cwd, timeoutMs })
    : run(process.execPath, [TSOCAT, ...args], { input: opts.input, cwd: opts.cwd, timeoutMs });
}

function prepare(dir: string, files: Record<string, string> = {}): void {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
}

function snapshot(dir: string, names: string[] = []): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const name of names) out[name] = existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'latin1') : null;
  return out;
}

async function outcome(tool: Tool, c: Case): Promise<Outcome> {
  const { dir, cleanup } = tempDir();
  try {
    prepare(dir, c.files);
    const r = await runTool(tool, c.args, { input: c.input, cwd: dir });
    return { status: r.status, stdout: r.stdout.toString('latin1'), files: snapshot(dir, c.compareFiles) };
  } finally {
    cleanup();
  }
}

const SIMPLE: Record<string, Case> = {
  // grammar
  'lower-case keywords': { args: ['stdio', 'pipe'], input: 'lower\n' },
  'mixed-case keyword and option': { args: ['-u', 'Open:f,RdOnly', 'stdout'], files: { f: 'mixed\n' } },
  '- is STDIO': { args: ['-u', '-', 'STDOUT'], input: 'dash\n' },
  'bare path is GOPEN': { args: ['-u', './src', 'STDOUT'], files: { src: 'bare\n' } },
  'leading digit is FD': { args: ['-u', '0', '1'], input: 'fd numbers\n' },
  'single quotes keep a comma in a command': { args: ['-u', '-', "SYSTEM:'tr a-z A-Z; echo x,y'"], input: 'quoted\n' },
  'double quotes keep a colon': { args: ['-u', 'SYSTEM:"echo a:b,c"', 'STDOUT'] },
  'parentheses nest a comma': { args: ['-u', 'SYSTEM:(echo a,b)', 'STDOUT'] },
  'brackets nest a comma': { args: ['-u', 'SYSTEM:echo [1,2]', 'STDOUT'] },
  'backslash escapes a comma': { args: ['-u', 'SYSTEM:echo one\\,two', 'STDOUT'] },
  'option value with equals inside quotes': { args: ['-u', "SYSTEM:echo 'k=v'", 'STDOUT'] },
  // files
  'OPEN reads a file': { args: ['-u', 'OPEN:in', 'STDOUT'], files: { in: 'file content\n' } },
  'CREATE writes a file': { args: ['-u', 'STDIN', 'CREATE:out'], input: 'created\n', compareFiles: ['out'] },
  'CREATE truncates an existing file': { args: ['-u', 'STDIN', 'CREATE:out'], input: 'new\n', files: { out: 'old old old\n' }, compareFiles: ['out'] },
  'OPEN append adds to a file': { args: ['-u', 'STDIN', 'OPEN:log,append'], input: 'two\n', files: { log: 'one\n' }, compareFiles: ['log'] },
  'OPEN creat makes a missing file': { args: ['-u', 'STDIN', 'OPEN:made,creat'], input: 'made\n', compareFiles: ['made'] },
  'OPEN trunc empties first': { args: ['-u', 'STDIN', 'OPEN:t,trunc'], input: 'short\n', files: { t: 'a much longer line\n' }, compareFiles: ['t'] },
  'OPEN without trunc overwrites in place': { args: ['-u', 'STDIN', 'OPEN:t'], input: 'AB', files: { t: 'abcdef\n' }, compareFiles: ['t'] },
  'CREATE excl refuses an existing file': { args: ['-u', 'STDIN', 'CREATE:x,excl'], input: 'no\n', files: { x: 'keep\n' }, compareFiles: ['x'] },
  'GOPEN appends with append': { args: ['-u', 'STDIN', 'GOPEN:g,append'], input: 'b\n', files: { g: 'a\n' }, compareFiles: ['g'] },
  'OPEN of a missing file fails': { args: ['-u', 'OPEN:missing', 'STDOUT'] },
  'OPEN rdonly as a write target fails': { args: ['-u', 'STDIN', 'OPEN:ro,rdonly'], input: 'x', files: { ro: 'ro\n' }, compareFiles: ['ro'] },
  'file in, file out, both named': { args: ['-u', 'OPEN:a', 'CREATE:b'], files: { a: 'copy me\n' }, compareFiles: ['b'] },
  // pipes
  'unnamed PIPE echoes': { args: ['-', 'PIPE'], input: 'echo via pipe\n' },
  'named PIPE echoes': { args: ['-', 'PIPE:fifo'], input: 'named fifo\n' },
  '!! dual: read a file, write stdout': { args: ['OPEN:in!!STDOUT', 'PIPE'], files: { in: 'dual\n' } },
  '!! dual on the right': { args: ['-u', 'STDIN', 'OPEN:in!!CREATE:out'], input: 'to out\n', files: { in: 'unused\n' }, compareFiles: ['out'] },
  // port 0: an address that never sends opens fine (test.sh probes UDP-Lite so); the first packet fails in sendto()
  'UDP4-SENDTO to port 0 with nothing to send': { args: ['-u', '/dev/null', 'UDP4-SENDTO:127.0.0.1:0'], quiet: true },
  'UDP4-SENDTO to port 0 fails at the first packet': { args: ['-u', '-', 'UDP4-SENDTO:127.0.0.1:0'], input: 'x\n' },
  'UDP4-DATAGRAM to port 0 fails at the first packet': { args: ['-u', '-', 'UDP4-DATAGRAM:127.0.0.1:0'], input: 'x\n' },
  // programs
  'EXEC with pipes': { args: ['-', 'EXEC:tr a-z A-Z'], input: 'upper\n' },
  'EXEC with the pipes option': { args: ['-', 'EXEC:cat,pipes'], input: 'pipes\n' },
  'EXEC with a quoted argument': { args: ['-u', "EXEC:printf '%s|' a 'b c'", 'STDOUT'] },
  'SYSTEM runs a shell line': { args: ['-', 'SYSTEM:sort -r'], input: 'a\nc\nb\n' },
  'EXEC stderr joins the data stream': { args: ['-u', 'SYSTEM:echo out; echo err >&2,stderr', 'STDOUT'] },
  // (a program's exit status is left out: whether socat sees SIGCHLD before its own end is a race)
  'SYSTEM with fdin and fdout': { args: ['-', 'SYSTEM:cat>&9 <&8,pipes,fdin=8,fdout=9'], input: 'other descriptors\n' },
  'dual SYSTEM with fdout!!fdin': { args: ['SYSTEM:cat>&6,fdout=6!!SYSTEM:cat<&7,fdin=7', 'PIPE'], input: 'dual fds\n' },
  'nofork: the program takes over stdin and stdout': { args: ['-', 'EXEC:tr a-z A-Z,nofork'], input: 'nofork\n' },
  'nofork with -u: the program reads address 1, writes to stdout': { args: ['-u', './src', 'EXEC:cat,nofork'], files: { src: 'unidirectional\n' } },
  'nofork with -U: the program writes to address 1': { args: ['-U', '-', 'SYSTEM:echo back,nofork'], input: 'unread\n' },
  'nofork: the exit status is the program\'s': { args: ['-', 'SYSTEM:cat; exit 3,nofork'], input: 'three\n' },
  // socat's nofork path skips its pty code (test.sh EXITCODESIGTERM runs `ECHO SYSTEM:…,pty,setsid,nofork`)
  'nofork with pty: the program takes the descriptors, no pty': { args: ['-', 'SYSTEM:tty >out; cat,pty,nofork'], input: 'no tty\n', compareFiles: ['out'] },
  'nofork on ECHO: the program reads back what it wrote into the pipe': { args: ['ECHO', 'SYSTEM:echo hello; read x; echo "got $x" >out,nofork'], compareFiles: ['out'] },
  'escape byte ends the input': { args: ['-u', '-,escape=27', 'STDOUT'], input: 'before\x1bafter' },
  'EXEC path': { args: ['-u', 'EXEC:printenv PATH,path=/tmp/none:/usr/bin:/bin', 'STDOUT'] },
  'dual STDIN!!STDOUT to a program': { args: ['STDIN!!STDOUT', 'SYSTEM:wc -c'], input: '12345' },
  // engine flags and appl options
  '-u copies left to right only': { args: ['-u', 'STDIN', 'SYSTEM:cat'], input: 'one way\n', quiet: true },
  '-U copies right to left only': { args: ['-U', 'STDOUT', 'SYSTEM:echo backwards'] },
  // address 1 ends only once the program has written "early" (the file "ready" is the signal), so -t 0.1 never races that write
  '-t short close timeout': { args: ['-t', '0.1', 'SYSTEM:until [ -e ready ]; do sleep 0.01; done!!STDOUT', 'SYSTEM:echo early; touch ready; sleep 2; echo late'] },
  '-t long close timeout waits for late output': { args: ['-t', '5', '-', 'SYSTEM:cat; sleep 1; echo late'], input: 'early\n' },
  '-b small blocks': { args: ['-b', '3', '-', 'PIPE'], input: 'small blocks pass whole\n' },
  'readbytes stops early': { args: ['-u', 'OPEN:in,readbytes=5', 'STDOUT'], files: { in: '0123456789' } },
  'crnl turns line ends to CRLF on write': { args: ['-u', 'STDIN', 'STDOUT,crnl'], input: 'a\nb\n' },
  'crnl turns CRLF to line ends on read': { args: ['-u', 'STDIN,crnl', 'STDOUT'], input: 'a\r\nb\r\n' },
  'cr on write': { args: ['-u', 'STDIN', 'STDOUT,cr'], input: 'a\nb\n' },
  'o-direct reads a file through page-aligned memory': { args: ['-u', 'OPEN:in,o-direct', 'STDOUT'], files: { in: 'past the page cache\n' } },
  'o-direct write of a partial block fails': { args: ['-u', '-', 'OPEN:out,o-direct,creat'], input: 'not a block\n' },
  'ignoreeof ended by -T': { args: ['-T', '0.5', '-u', 'OPEN:in,ignoreeof', 'STDOUT'], files: { in: 'abcdefgh' } },
  // only -T can end this before the program speaks: its output stays open and silent for 2 s
  '-T ends an idle transfer': { args: ['-T', '0.2', '-u', 'SYSTEM:sleep 2; echo late', 'STDOUT'], quiet: true },
  // bad invocations
  'unknown address type': { args: ['NOSUCH:x', '-'] },
  'unknown option': { args: ['-', 'PIPE,nosuchopt'] },
  'option of another group': { args: ['-u', 'OPEN:in,nodelay', 'STDOUT'], files: { in: 'x' } },
  'one address only': { args: ['-'] },
  'connection refused': { args: ['-', 'TCP:127.0.0.1:1'] },
};

describe('same outcome as socat', () => {
  requires('socat');

  it.concurrent.each(Object.entries(SIMPLE))('%s', async (_name, c) => {
    const [ours, theirs] = await Promise.all([outcome('tsocat', c), outcome('socat', c)]);
    expect(ours).toEqual(theirs);
    // a comparison of two silent successes would prove nothing
    const observable = theirs.status !== 0 || theirs.stdout !== '' || Object.values(theirs.files).some((f) => f !== null);
    expect(observable || c.quiet === true).toBe(true);
  });

  /** A listener and a client of the same tool talk over loopback; the listener's stdout is compared. */
  const TCP_PAIRS: Record<string, { server: (port: number) => string[]; client: (port: number) => string[]; input: string }> = {
    'TCP-LISTEN to STDOUT, TCP client from STDIN': {
      server: (p) => ['-u', `TCP-LISTEN:${p},reuseaddr`, 'STDOUT'],
      client: (p) => ['-u', 'STDIN', `TCP:127.0.0.1:${p}`],
      input: 'over tcp\n',
    },
    'TCP4-LISTEN with bind, EXEC echo back': {
      server: (p) => [`TCP4-LISTEN:${p},bind=127.0.0.1,reuseaddr`, 'EXEC:cat'],
      client: (p) => ['-', `TCP4:127.0.0.1:${p},nodelay`],
      input: 'echoed by cat\n',
    },
    'TCP4-LISTEN with EXEC nofork: the program holds the connection': {
      server: (p) => [`TCP4-LISTEN:${p},bind=127.0.0.1,reuseaddr`, 'EXEC:tr a-z A-Z,nofork'],
      client: (p) => ['STDIN!!STDOUT', `TCP4:127.0.0.1:${p}`],
      input: 'taken over\n',
    },
    'TCP6 over ::1': {
      server: (p) => [`TCP6-LISTEN:${p},reuseaddr`, 'SYSTEM:tr a-z A-Z'],
      client: (p) => ['-', `TCP6:[::1]:${p}`],
      input: 'six\n',
    },
  };

  it.each(Object.entries(TCP_PAIRS))('%s', async (_name, pair) => {
    const results: Record<Tool, { server: string; client: string; status: number | null }> = {} as never;
    for (const tool of ['socat', 'tsocat'] as const) {
      const { dir, cleanup } = tempDir();
      try {
        const port = await freePort();
        const server = runTool(tool, pair.server(port), { cwd: dir });
        await waitForPort(port);
        const client = await runTool(tool, pair.client(port), { cwd: dir, input: pair.input });
        const s = await server;
        results[tool] = { server: s.stdout.toString(), client: client.stdout.toString(), status: client.status };
      } finally {
        cleanup();
      }
    }
    expect(results.tsocat).toEqual(results.socat);
    expect(results.socat.server + results.socat.client).not.toBe('');
  });
});
