/**
 * EXEC, SYSTEM, SHELL: start a program and relay to its stdin/stdout.
 * EXEC splits its command line itself (socat's quoting); SYSTEM hands it to
 * /bin/sh -c; SHELL to $SHELL -c.
 */
import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { type AddressRequest, defineAddress } from '../src/define.js';
import { connectionEnvironment } from '../src/engine/programs/connection-env.js';
import type { OpenContext } from '../src/engine/context.js';
import { type ChildExit, type HandOver, makeEndpoint } from '../src/engine/endpoint.js';
import { applyFdOptions } from '../src/engine/descriptors/fdopts.js';
import { streamsForFd } from '../src/engine/descriptors/fdstreams.js';
import { privilegesFor, programSteps } from '../src/engine/opening/privileges.js';
import { type Launch, launchWith, targetGroup } from '../src/engine/programs/process-group-launcher.js';
import { canStartPlain, type PlainChild, type PlainStdio, startPlain } from '../src/engine/programs/plain-child.js';
import { openProgramTerminal, type ProgramTerminal, programTerminalEndpoint, terminalStdio, wantsTerminal } from '../src/engine/programs/pty-child.js';
import { rawSocketEndpoint } from '../src/engine/sockets/messages/raw-socket.js';
import { descriptorOf } from '../src/engine/sockets/sockopts.js';
import { type SystemError, strerror, TsocatError } from '../src/errors.js';
import { lex } from '../src/grammar/lexer.js';
import { SOCK_DGRAM, SOCK_STREAM } from '../src/sys/sockets.js';
import { ffiLoaded, SpawnError } from '../src/sys/spawn.js';

const GROUPS = ['FD', 'FORK', 'EXEC', 'PROCESS', 'APPL', 'TERMIOS', 'PTY', 'PARENT'] as const;

/** Splits an EXEC command line on spaces, honouring socat's quotes and escapes. */
export function splitCommandLine(text: string): string[] {
  const rules = { ends: [' '], hardQuotes: ["'"], softQuotes: ['"'], nests: [] };
  const words: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (text[i] === ' ') i++;
    if (i >= text.length) break;
    const w = lex(text, i, rules, true, text);
    words.push(w.token);
    i = w.end;
  }
  return words;
}

/** stdout and stderr as one stream, ending when both have ended (socat's stderr option). */
function merged(a: Readable, b: Readable): Readable {
  const out = new PassThrough();
  let open = 2;
  for (const s of [a, b]) {
    s.pipe(out, { end: false });
    s.once('end', () => {
      if (--open === 0) out.end();
    });
  }
  return out;
}

/** Which of the program's descriptors carry the relay: stdin/stdout unless fdin/fdout say otherwise. */
function programFds(req: AddressRequest): { fdin: number; fdout: number } {
  return { fdin: req.options.number('fdin') ?? 0, fdout: req.options.number('fdout') ?? 1 };
}

/**
 * nofork: the program gets address 1's own descriptors instead of pipes to
 * tsocat. socat exec()s the program in its own process; Node cannot, so the
 * program runs as a child holding those descriptors and tsocat relays nothing.
 */
function descriptorsToTakeOver(req: AddressRequest, ctx: OpenContext): HandOver | undefined {
  if (!req.options.bool('nofork')) return undefined;
  const first = ctx.firstAddress;
  if (!first) throw new TsocatError('option nofork is not allowed here', 'EUSAGE');
  const h = first.handOver;
  if (!h || (req.mode !== 'r' && h.read === undefined) || (req.mode !== 'w' && h.write === undefined)) {
    throw new TsocatError(`option nofork: ${first.description} has no descriptor the program could take over`, 'EUSAGE');
  }
  return h;
}

/**
 * socat's `pipes`: kernel pipes to the program (Node's own child stdio is a
 * socketpair per direction). The child's ends are closed here once it has them.
 */
interface OwnPipes {
  childIn?: number;
  childOut?: number;
  parentWrite?: number;
  parentRead?: number;
}

/**
 * socat's socktype (so-type) on a program: the one socketpair to it is of that
 * type (2 datagram, 5 seqpacket: each write one packet, boundaries kept), made
 * here since Node's own child stdio is a stream socketpair. The same pair
 * carries both directions, as socat's does.
 */
interface SocketChannel extends OwnPipes {
  type: number;
}

async function openSocketChannel(req: AddressRequest): Promise<SocketChannel | undefined> {
  const type = req.options.number('so-type');
  if (type === undefined) return undefined;
  const other = ['pipes', 'nofork', 'stderr'].find((name) => req.options.bool(name));
  if (other) throw new TsocatError(`option "so-type" cannot be combined with "${other}": it chooses the type of the socketpair to the program`, 'EUSAGE');
  const sys = await import('../src/sys/sockets.js');
  const [parent, child] = sys.openSocketPair(sys.AF_UNIX, type, 0);
  // the program gets a blocking descriptor, as from socat (only tsocat's end waits on the event loop)
  const { setNonBlocking } = await import('../src/sys/libc.js');
  setNonBlocking(child, false);
  return { type, childIn: child, childOut: child, parentWrite: parent, parentRead: parent };
}

async function openPipes(req: AddressRequest): Promise<OwnPipes | undefined> {
  if (!req.options.bool('pipes')) return undefined;
  const { makePipe } = await import('../src/sys/libc.js');
  const toChild = req.mode !== 'r' ? makePipe() : undefined;
  const fromChild = req.mode !== 'w' ? makePipe() : undefined;
  return { childIn: toChild?.[0], parentWrite: toChild?.[1], childOut: fromChild?.[1], parentRead: fromChild?.[0] };
}

async function applyFdOptionsToEach(fds: Array<number | undefined>, req: AddressRequest): Promise<void> {
  for (const fd of new Set(fds)) if (fd !== undefined) await applyFdOptions(fd, req.options);
}

function closeAll(fds: Array<number | undefined>): void {
  // a socket channel is one descriptor for both directions: closed once
  for (const fd of new Set(fds)) if (fd !== undefined) closeSync(fd);
}

function programStdio(req: AddressRequest, takeOver: HandOver | undefined, pipes: OwnPipes | undefined): StdioOptions {
  const { fdin, fdout } = programFds(req);
  if (req.mode === 'w' && req.options.has('fdout')) throw new TsocatError('_xioopen_foxec(): option fdout is useless in write-only mode', 'EUSAGE');
  if (req.mode === 'r' && req.options.has('fdin')) throw new TsocatError('_xioopen_foxec(): option fdin is useless in read-only mode', 'EUSAGE');
  const reads = req.mode !== 'w';
  const writes = req.mode !== 'r';
  // A descriptor the relay does not use stays tsocat's own (0-2) or stays closed (above), as in socat.
  const stdio: Array<'pipe' | 'inherit' | 'ignore' | number> = Array.from({ length: Math.max(fdin, fdout, 2) + 1 }, (_, i) => (i <= 2 ? 'inherit' : 'ignore'));
  if (writes) stdio[fdin] = takeOver?.read ?? pipes?.childIn ?? 'pipe';
  if (reads) stdio[fdout] = takeOver?.write ?? pipes?.childOut ?? 'pipe';
  if (!takeOver && reads && req.options.bool('stderr') && fdin !== 2 && fdout !== 2) stdio[2] = 'pipe';
  return stdio;
}

/** The late PROCESS options the program takes before exec: its process group, root, groups and user. */
function launcherSteps(req: AddressRequest): { steps: string[]; env: Record<string, string> } {
  const { args, env } = programSteps(privilegesFor(req.spec, req.options).late);
  // socat applies setsid before setpgid; both stay as socat does them (setpgid then fails, with a warning)
  const pgid = req.options.has('setpgid') ? [`pgid=${targetGroup(req.options.number('setpgid') as number)}`] : [];
  return { steps: [...pgid, ...args], env };
}

/** How the program is started: directly, or through the launcher (see process-group-launcher.ts). */
async function launchPlan(file: string, args: string[], argv0: string, steps: string[], reportFd: number): Promise<Launch | undefined> {
  return steps.length ? launchWith(file, args, argv0, steps, reportFd) : undefined;
}

function execError(file: string, code: string | undefined, message: string): TsocatError {
  return new TsocatError(`execvp("${file}", ...): ${code ? strerror({ code, message } as SystemError) : message}`, code ?? 'EEXEC');
}

/** spawn() throws at once, instead of emitting 'error', for some failures (ENAMETOOLONG: a program name over 255 bytes): the same message either way. */
function spawnOrRefuse(file: string, start: () => ChildProcess): ChildProcess {
  try {
    return start();
  } catch (err) {
    throw execError(file, (err as SystemError).code, (err as Error).message);
  }
}

/** A started program: Node's ChildProcess, or one started with posix_spawn (plain-child.ts). */
type Program = ChildProcess | PlainChild;

/**
 * posix_spawn instead of Node's spawn (which forks all of tsocat, 15–20 ms a start) when nothing
 * needs spawn: no launcher steps, no pty, no namespace, descriptors 0–2 only (those handed on as
 * they are already blocking), the program found on tsocat's own PATH; and when it pays: a program per peer, or koffi loaded already (loading it costs
 * more than one fork of a fresh tsocat). TSOCAT_POSIX_SPAWN=off keeps Node's spawn, =on takes
 * posix_spawn for every program that allows it (tests, comparisons).
 */
function startsPlain(stdio: unknown[], env: NodeJS.ProcessEnv, netns: string | undefined, ctx: OpenContext): stdio is PlainStdio[] {
  const choice = process.env.TSOCAT_POSIX_SPAWN;
  if (choice === 'off' || netns !== undefined || env.PATH !== process.env.PATH) return false;
  return (choice === 'on' || ctx.perPeer || ffiLoaded()) && canStartPlain(stdio);
}

async function startProgram(file: string, args: string[], argv0: string, req: AddressRequest, ctx: OpenContext, takeOver: HandOver | undefined, pipes: OwnPipes | undefined, terminal?: ProgramTerminal): Promise<Program> {
  const o = req.options;
  const stdio = terminal ? terminalStdio(req, terminal) : (programStdio(req, takeOver, pipes) as Array<'pipe' | 'inherit' | 'ignore' | number>);
  const { steps: privilegeSteps, env: userEnv } = launcherSteps(req);
  // socat's order in the child: setsid (spawn's detached), setpgid, then the controlling terminal
  const steps = [...privilegeSteps.filter((s) => s.startsWith('pgid=')), ...(terminal?.steps ?? []), ...privilegeSteps.filter((s) => !s.startsWith('pgid='))];
  const launch = await launchPlan(file, args, argv0, steps, stdio.length);
  if (launch) stdio.push(launch.reportEnd);
  const env = { ...process.env, ...connectionEnvironment(ctx.log.config.program, ctx.connectionInfo), ...userEnv, ...(o.has('path') ? { PATH: o.string('path') } : {}), ...(o.has('shell') ? { SHELL: o.string('shell') } : {}) };
  const netns = o.string('netns');
  if (!launch && !terminal && startsPlain(stdio, env, netns, ctx)) {
    let plain: PlainChild;
    try {
      plain = startPlain(file, [argv0, ...args], env, stdio, o.bool('setsid'));
    } catch (err) {
      throw err instanceof SpawnError ? execError(file, err.code, err.message) : err;
    }
    ctx.log.log('D', `started "${file}" with posix_spawn`);
    ctx.log.log('I', `forked off child process ${plain.pid}`);
    return plain;
  }
  const start = () =>
    spawn(launch?.file ?? file, launch?.args ?? args, {
      argv0: launch?.argv0 ?? argv0,
      stdio,
      env,
      cwd: process.cwd(),
      detached: o.bool('setsid'),
    });
  // netns: the program starts in that namespace (spawn forks on this thread, inside the call)
  const inNamespace = netns === undefined ? undefined : (await import('../src/sys/netns.js')).inNetworkNamespace;
  const startRefusing = () => spawnOrRefuse(launch?.file ?? file, start);
  const child: ChildProcess = inNamespace && netns !== undefined ? inNamespace(netns, ctx.log, startRefusing) : startRefusing();
  const spawned = new Promise<ChildProcess>((resolve, reject) => {
    child.once('spawn', () => resolve(child));
    child.once('error', (err) => {
      const code = (err as { code?: string }).code;
      reject(execError(launch?.file ?? file, code, err.message));
    });
  }).finally(() => launch?.started());
  const started = await spawned;
  if (launch) {
    const { setpgidError, stepError, execError: failedExec, warnings } = await launch.outcome;
    if (setpgidError) ctx.log.log('W', `setpgid(0, ${o.number('setpgid')}): ${setpgidError}`);
    for (const warning of warnings ?? []) ctx.log.log('W', warning);
    if (stepError) {
      for (const s of started.stdio) s?.destroy();
      throw new TsocatError(stepError, 'EPRIVILEGE');
    }
    if (failedExec) throw execError(file, failedExec === 'No such file or directory' ? 'ENOENT' : undefined, failedExec);
  }
  ctx.log.log('D', `started "${file}" with Node's spawn`);
  ctx.log.log('I', `forked off child process ${started.pid}`);
  return started;
}

/** `pty`: the program on a pseudo-terminal (src/engine/programs/pty-child.ts) instead of a socket pair or pipes. */
async function openProgramOnTerminal(file: string, args: string[], argv0: string, req: AddressRequest, ctx: OpenContext) {
  const terminal = await openProgramTerminal(req);
  let child: ChildProcess;
  try {
    // a program on a terminal is started by Node's spawn (startProgram takes posix_spawn only without one)
    child = (await startProgram(file, args, argv0, req, ctx, undefined, undefined, terminal)) as ChildProcess;
  } catch (err) {
    terminal.restoreTerminal?.();
    closeAll([terminal.pty.slave, terminal.pty.master]);
    throw err;
  }
  let exitInfo: ChildExit | undefined;
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => resolve((exitInfo = { pid: child.pid as number, code, signal })));
  });
  return programTerminalEndpoint(req, terminal, child, exited, () => exitInfo !== undefined, ctx.log);
}

async function openProgram(file: string, args: string[], argv0: string, req: AddressRequest, ctx: OpenContext) {
  const onTerminal = wantsTerminal(req);
  // socat's nofork path never reaches its pty code: the program takes address 1's descriptors, and pty goes unused
  if (onTerminal && req.options.bool('nofork')) ctx.log.log('W', 'option pty has no effect with nofork: the program takes address 1\'s descriptors');
  else if (onTerminal) {
    if (req.options.has('so-type')) throw new TsocatError('option "so-type" cannot be combined with "pty": the program\'s stdin and stdout are the pty', 'EUSAGE');
    return openProgramOnTerminal(file, args, argv0, req, ctx);
  }
  const takeOver = descriptorsToTakeOver(req, ctx);
  const channel = await openSocketChannel(req);
  const pipes = takeOver ? undefined : (channel ?? (await openPipes(req)));
  let child: Program;
  try {
    // on our own pipes the options take effect before the program can look at them (f-setpipe-sz)
    if (pipes) await applyFdOptionsToEach([pipes.parentWrite, pipes.parentRead], req);
    child = await startProgram(file, args, argv0, req, ctx, takeOver, pipes);
  } catch (err) {
    closeAll([pipes?.parentRead, pipes?.parentWrite]);
    throw err;
  } finally {
    // the program has its own copies now (or never started)
    closeAll([pipes?.childIn, pipes?.childOut]);
  }
  const pid = child.pid as number;
  let exitInfo: ChildExit | undefined;
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { pid, code, signal };
      resolve(exitInfo);
    });
  });
  if (takeOver) {
    return makeEndpoint({
      exited,
      handedOver: true,
      description: `${req.keyword} ${pid}`,
      close: async () => {
        if (!exitInfo) child.kill('SIGTERM');
      },
    });
  }
  if (channel) return socketChannelEndpoint(channel, req, child, exited, () => exitInfo !== undefined);
  const { fdin, fdout } = programFds(req);
  const ownEnd = (fd: number | undefined, mode: 'r' | 'w') => (fd === undefined ? undefined : streamsForFd(fd, mode, { autoClose: true }));
  const output = ownEnd(pipes?.parentRead, 'r')?.readable ?? (child.stdio[fdout] as Readable | null) ?? undefined;
  const errors = fdout !== 2 && fdin !== 2 ? (child.stderr ?? undefined) : undefined;
  const readable = output && errors ? merged(output, errors) : output;
  const writable = ownEnd(pipes?.parentWrite, 'w')?.writable ?? (child.stdio[fdin] as Writable | null) ?? undefined;
  // FD options act on tsocat's ends of the channels to the program, as socat applies them to its ends;
  // Node's socketpairs exist only once the program has started
  if (!pipes) {
    try {
      await applyFdOptionsToEach([child.stdio[fdin], child.stdio[fdout]].map((s) => (s instanceof Socket ? descriptorOf(s) : undefined)), req);
    } catch (err) {
      child.kill('SIGTERM');
      throw err;
    }
  }
  return makeEndpoint({
    readable,
    writable,
    exited,
    description: `${req.keyword} ${pid}`,
    // a kernel pipe has no shutdown(): the program sees end of file only when our end is closed
    shutdownWrite: () => (pipes ? writable?.end(() => writable.destroy()) : writable?.end()),
    close: async () => {
      writable?.destroy();
      readable?.destroy();
      // socat ends a program still running at close with SIGTERM, and does not count that as failure;
      // with end-close it only closes the descriptors and leaves the program be
      if (!exitInfo && !req.options.bool('end-close')) child.kill('SIGTERM');
    },
  });
}

/** tsocat's end of a socktype channel: one packet per read and per write on a datagram or seqpacket pair. */
function socketChannelEndpoint(channel: SocketChannel, req: AddressRequest, child: Program, exited: Promise<ChildExit>, hasExited: () => boolean) {
  const endpoint = rawSocketEndpoint(channel.parentRead as number, {
    message: channel.type !== SOCK_STREAM,
    // a datagram pair has no half-close (shut-null sends the empty packet socat's peer takes as the end)
    halfClose: channel.type !== SOCK_DGRAM,
    nullEof: req.options.bool('null-eof'),
    mode: req.mode,
    description: `${req.keyword} ${child.pid}`,
  });
  const closeChannel = endpoint.close;
  endpoint.exited = exited;
  endpoint.close = async () => {
    await closeChannel();
    if (!hasExited() && !req.options.bool('end-close')) child.kill('SIGTERM');
  };
  return endpoint;
}

/** socat takes dash only on EXEC; SYSTEM and SHELL leave it unused, which socat reports as an error. */
function refuseDash(req: AddressRequest): void {
  if (req.options.has('dash')) throw new TsocatError(`option "dash" could not be used with ${req.keyword}`, 'EUSAGE');
}

export default [
  defineAddress({
    names: ['EXEC'],
    params: ['command-line'],
    groups: GROUPS,
    features: ['EXEC', 'NAMESPACES'],
    summary: 'run a program (split on spaces, no shell) and relay to its stdin/stdout',
    async open(req, ctx) {
      const words = splitCommandLine(req.params[0] as string);
      const [file, ...args] = words;
      if (!file) throw new TsocatError('EXEC: empty command line', 'EUSAGE');
      // dash (login): a '-' before argv[0] tells a shell to run as a login shell
      const argv0 = `${req.options.bool('dash') ? '-' : ''}${file.split('/').pop()}`;
      return openProgram(file, args, argv0, req, ctx);
    },
  }),
  defineAddress({
    names: ['SYSTEM'],
    params: ['shell-command'],
    groups: GROUPS,
    features: ['SYSTEM'],
    summary: 'run a command with /bin/sh -c and relay to its stdin/stdout',
    async open(req, ctx) {
      refuseDash(req);
      return openProgram('/bin/sh', ['-c', req.params[0] as string], 'sh', req, ctx);
    },
  }),
  defineAddress({
    names: ['SHELL'],
    params: ['shell-command'],
    // socat 1.8: without a command, an interactive shell (test.sh INTERACTIVE_SHELL)
    minParams: 0,
    groups: [...GROUPS, 'SHELL'],
    features: ['SHELL'],
    summary: 'run a command with $SHELL -c (default /bin/sh), or without a command the interactive shell, and relay to its stdin/stdout',
    async open(req, ctx) {
      refuseDash(req);
      const shell = req.options.string('shell') ?? (process.env.SHELL || '/bin/sh');
      // socat runs the shell under its file name, so the option takes a path
      if (req.options.has('shell') && !shell.includes('/')) throw new TsocatError(`SHELL "${shell}" variable does not specify a path (has no '/')`, 'EOPTVALUE');
      const command = req.params[0];
      if (command === undefined) ctx.log.log('I', 'executing interactive shell');
      return openProgram(shell, command === undefined ? [] : ['-c', command], shell.split('/').pop() as string, req, ctx);
    },
  }),
];
