/**
 * UNIX and ABSTRACT addresses compared with Debian's socat 1.7.4 on the same
 * command lines: the same exit status, the same bytes, the same socket file
 * left behind (or not) with the same mode, and for refusals one E line.
 */
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunResult, requires, run, SOCAT, TSOCAT, tempDir, waitFor } from '../helpers.js';

type Tool = { name: string; command: string[] };
const tools = (): Tool[] => [
  { name: 'tsocat', command: [process.execPath, TSOCAT] },
  { name: 'socat', command: [SOCAT as string] },
];

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function runTool(tool: Tool, args: string[], cwd: string, input = ''): Promise<RunResult> {
  const [command, ...first] = tool.command as [string, ...string[]];
  return run(command, [...first, ...args], { cwd, input, timeoutMs: 20000 });
}

/** What is left at a name in the directory: nothing, a socket with its mode, or another kind of file. */
function entry(path: string): string {
  if (!existsSync(path)) return 'none';
  const st = lstatSync(path);
  return `${st.isSocket() ? 'socket' : 'file'} ${(st.mode & 0o7777).toString(8)}`;
}

const errorLines = (stderr: string) => stderr.split('\n').filter((l) => / E /.test(l)).length;

/** Bad input: both refuse with status 1, one E line, and leave no socket file behind. */
const REFUSED: Array<[string, string[]]> = [
  ['a path too long', ['-', `UNIX-LISTEN:${'a'.repeat(120)}`]],
  ['an unknown socket type', ['-', 'UNIX-LISTEN:s,so-type=7']],
  ['a socket type that is no number', ['-', 'UNIX-LISTEN:s,so-type=dgram']],
  ['a protocol UNIX sockets lack', ['-', 'UNIX-CONNECT:s,so-protocol=6']],
  ['mode without bind on a client', ['-', 'UNIX-CONNECT:s,mode=600']],
  ['a NAMED option on an abstract socket', ['-', 'ABSTRACT-LISTEN:s,unlink-early']],
  ['mode that is not octal', ['-', 'UNIX-LISTEN:s,mode=9']],
  ['unix-tightsocklen with garbage', ['-', 'UNIX-LISTEN:s,unix-tightsocklen=1x']],
  ['a listener in a missing directory', ['-', 'UNIX-LISTEN:/nonexistent-dir/s']],
  ['a client bound in a missing directory', ['-', 'UNIX-CONNECT:s,bind=/nonexistent-dir/c']],
  ['connecting to nothing', ['-', 'UNIX-CONNECT:nothing-here']],
  ['UNIX-CLIENT to nothing', ['-', 'UNIX-CLIENT:nothing-here']],
  ['an abstract name no one listens on', ['-', `ABSTRACT-CONNECT:tsocat-compat-nobody-${process.pid}`]],
  ['a UNIX address with two parameters', ['-', 'UNIX-CONNECT:a:b']],
];

describe('UNIX and ABSTRACT compared with socat 1.7.4', () => {
  requires('socat');

  it.each(REFUSED)('%s: status 1, one E line, no socket file left', async (_what, args) => {
    const results = [];
    for (const tool of tools()) {
      const t = tempDir();
      cleanups.push(t.cleanup);
      const r = await runTool(tool, args, t.dir);
      results.push({ status: r.status, errors: errorLines(r.stderr), left: entry(join(t.dir, 's')) });
    }
    expect(results[0]).toEqual(results[1]);
    expect(results[0]).toMatchObject({ status: 1, errors: 1, left: 'none' });
  });

  it('UNIXLISTEN_KEEPFILE: a regular file where the socket should go is kept, status 1 (socat test.sh)', async () => {
    const results = [];
    for (const tool of tools()) {
      const t = tempDir();
      cleanups.push(t.cleanup);
      writeFileSync(join(t.dir, 'f'), 'keep me');
      const r = await runTool(tool, ['-u', 'UNIX-LISTEN:f', '/dev/null'], t.dir);
      results.push({ status: r.status, left: entry(join(t.dir, 'f')), error: / E (.*)/.exec(r.stderr)?.[1] });
    }
    expect(results[0]).toEqual(results[1]);
  });

  /**
   * Starts `server` with one tool and runs `client` against it with the other, both ways round, in a fresh directory.
   * An abstract name is written NAME (each round gets its own) and files ['@'].
   */
  async function pair(serverArgs: string[], clientArgs: string[], input: string, files: string[] = ['s']) {
    const out: Array<Record<string, unknown>> = [];
    let round = 0;
    for (const [srv, cli] of [tools(), [...tools()].reverse()] as Array<[Tool, Tool]>) {
      const name = `tsocat-compat-${process.pid}-${Date.now()}-${round++}`;
      const server = serverArgs.map((a) => a.replace('NAME', name));
      const client = clientArgs.map((a) => a.replace('NAME', name));
      const t = tempDir();
      cleanups.push(t.cleanup);
      const [cmd, ...first] = srv.command as [string, ...string[]];
      const child = spawn(cmd, [...first, ...server], { cwd: t.dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let serverOut = '';
      child.stdout.on('data', (d: Buffer) => (serverOut += d.toString()));
      const done = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      cleanups.push(() => void child.kill());
      const first_ = files[0] as string;
      // ready when the socket is bound: its file, or its abstract name in /proc/net/unix
      const bound = () => (first_ === '@' ? readFileSync('/proc/net/unix', 'utf8').includes(`@${name}`) : existsSync(join(t.dir, first_)));
      await waitFor(bound, 10000);
      // the file appears at bind(); its mode and listen() follow in the same moment, but not the same instant
      await new Promise((r) => setTimeout(r, 300));
      const modes = files.filter((f) => !f.startsWith('@')).map((f) => entry(join(t.dir, f)));
      const r = await runTool(cli, client, t.dir, input);
      const serverStatus = await Promise.race([done, new Promise((r) => setTimeout(() => r('running'), 5000))]);
      out.push({ client: r.stdout.toString(), clientStatus: r.status, serverOut, serverStatus, modes, after: files.filter((f) => !f.startsWith('@')).map((f) => entry(join(t.dir, f))) });
    }
    // socat as the server with tsocat's client, and tsocat as the server with socat's client, see the same
    expect(out[0]).toEqual(out[1]);
    return out[0];
  }

  it('UNIX-LISTEN,mode=600 with SYSTEM; UNIX-CONNECT from the other tool: same bytes, mode, file gone after', async () => {
    const r = await pair(['UNIX-LISTEN:s,mode=600', 'SYSTEM:tr a-z A-Z'], ['-', 'UNIX-CONNECT:s'], 'hello\n');
    expect(r).toMatchObject({ client: 'HELLO\n', modes: ['socket 600'], after: ['none'] });
  });

  it('UNIX-LISTEN,unlink-close=0 keeps the socket file (socat test.sh UNIX_CONNECT_UNLINK, server side)', async () => {
    const r = await pair(['UNIX-LISTEN:s,unlink-close=0', 'SYSTEM:cat'], ['-', 'UNIX-CONNECT:s'], 'kept\n');
    expect(r).toMatchObject({ client: 'kept\n', after: ['socket 755'] });
  });

  it('UNIX-CONNECT,bind=c: the bound client file is removed when it closes (unlink-close on by default)', async () => {
    const r = await pair(['UNIX-LISTEN:s', 'SYSTEM:cat'], ['-', 'UNIX-CONNECT:s,bind=c'], 'bound\n', ['s', 'c']);
    expect(r).toMatchObject({ client: 'bound\n', after: ['none', 'none'] });
  });

  it('umask=077 on UNIX-LISTEN: the socket file is created 700', async () => {
    const r = await pair(['UNIX-LISTEN:s,umask=077', 'SYSTEM:cat'], ['-', 'UNIX-CONNECT:s'], 'masked\n');
    expect(r).toMatchObject({ client: 'masked\n', modes: ['socket 700'] });
  });

  it('UNIX-LISTEN so-type=5 and UNIX-CLIENT: a seqpacket round trip', async () => {
    const r = await pair(['UNIX-LISTEN:s,so-type=5', 'SYSTEM:tr a-z A-Z'], ['-', 'UNIX-CLIENT:s'], 'seq\n');
    expect(r).toMatchObject({ client: 'SEQ\n' });
  });

  it('UNIX-LISTEN so-type=5 and GOPEN on it (socat test.sh GOPENUNIXSEQPACKET)', async () => {
    const r = await pair(['UNIX-LISTEN:s,so-type=5', 'SYSTEM:cat'], ['-', 'GOPEN:s'], 'gopen seqpacket\n');
    expect(r).toMatchObject({ client: 'gopen seqpacket\n' });
  });

  it('UNIX-RECV and GOPEN on a datagram socket (socat test.sh GOPENUNIXDGRAM)', async () => {
    const r = await pair(['-u', 'UNIX-RECV:s', '-'], ['-u', '-', 'GOPEN:s'], 'gopen dgram\n');
    expect(r).toMatchObject({ serverOut: 'gopen dgram\n', clientStatus: 0 });
  });

  it('UNIX-RECV,unlink-close=0 and UNIX-SENDTO,bind=c,unlink-close=1 (socat test.sh UNIX_SENDTO_UNLINK)', async () => {
    const r = await pair(['-u', 'UNIX-RECV:s,unlink-close=0', '-'], ['-', 'UNIX-SENDTO:s,bind=c,unlink-close=1'], 'unlink\n', ['s', 'c']);
    expect(r).toMatchObject({ serverOut: 'unlink\n', after: ['socket 755', 'none'] });
  });

  it('UNIX-RECVFROM answers the bound sender', async () => {
    const r = await pair(['UNIX-RECVFROM:s', 'SYSTEM:tr a-z A-Z'], ['-t', '2', '-', 'UNIX-SENDTO:s,bind=c'], 'answer\n', ['s', 'c']);
    expect(r).toMatchObject({ client: 'ANSWER\n', after: ['none', 'none'] });
  });

  it('ABSTRACT-LISTEN and ABSTRACT-CONNECT meet (tight names, as socat makes them)', async () => {
    const r = await pair(['ABSTRACT-LISTEN:NAME', 'SYSTEM:tr a-z A-Z'], ['-', 'ABSTRACT-CONNECT:NAME'], 'abstract\n', ['@']);
    expect(r).toMatchObject({ client: 'ABSTRACT\n' });
  });

  it('ABSTRACT-RECV and ABSTRACT-SENDTO carry a datagram', async () => {
    const r = await pair(['-u', 'ABSTRACT-RECV:NAME', '-'], ['-u', '-', 'ABSTRACT-SENDTO:NAME'], 'abstract dgram\n', ['@']);
    expect(r).toMatchObject({ serverOut: 'abstract dgram\n' });
  });

  it('ABSTRACT-SENDTO bound to its own name receives what it sends (socat test.sh ABSTRACT_BIND)', async () => {
    const name = `tsocat-compat-${process.pid}-c`;
    const results = [];
    for (const tool of tools()) {
      const t = tempDir();
      cleanups.push(t.cleanup);
      const r = await runTool(tool, ['-t', '1', '-', `ABSTRACT-SENDTO:${name},bind=${name}`], t.dir, 'to myself\n');
      results.push({ out: r.stdout.toString(), status: r.status });
    }
    expect(results[0]).toEqual(results[1]);
    expect(results[0]).toEqual({ out: 'to myself\n', status: 0 });
  });

  it('ABSTRACT-LISTEN with user= and accept-timeout: user goes to the descriptor, no failure (socat test.sh ABSTRACT_USER)', async () => {
    const user = process.env.USER ?? 'root';
    const results = [];
    for (const tool of tools()) {
      const t = tempDir();
      cleanups.push(t.cleanup);
      const r = await runTool(tool, [`ABSTRACT-LISTEN:tsocat-compat-${process.pid}-u,accept-timeout=0.1,user=${user}`, 'FILE:/dev/null'], t.dir);
      results.push({ status: r.status, errors: errorLines(r.stderr) });
    }
    expect(results[0]).toEqual(results[1]);
  });
  it("each side's end of file is one N line naming its socket and descriptor (socat test.sh MULTIPLE_EOF)", async () => {
    const seen: string[][] = [];
    for (const tool of tools()) {
      const t = tempDir();
      cleanups.push(t.cleanup);
      const [command, ...first] = tool.command as [string, ...string[]];
      const listener = spawn(command, [...first, '-d', '-d', 'UNIX-LISTEN:s', '/dev/null'], { cwd: t.dir, stdio: ['ignore', 'ignore', 'pipe'] });
      let errors = '';
      listener.stderr.on('data', (d: Buffer) => (errors += d.toString()));
      const done = new Promise((r) => listener.on('close', r));
      cleanups.push(() => void listener.kill());
      await waitFor(() => existsSync(join(t.dir, 's')), 10000);
      const client = await runTool(tool, ['-d', '-d', '-', 'UNIX-CONNECT:s'], t.dir, `${tool.name}\n`);
      await done;
      const eofs = (log: string) => log.split('\n').filter((l) => l.includes('is at EOF')).map((l) => l.replace(/^.* N /, '').replace(/fd \d+/, 'fd N')).sort();
      seen.push([...eofs(errors), '|', ...eofs(client.stderr)]);
    }
    expect(seen[0]).toEqual(['socket 1 (fd N) is at EOF', 'socket 2 (fd N) is at EOF', '|', 'socket 1 (fd N) is at EOF', 'socket 2 (fd N) is at EOF']);
    expect(seen[0]).toEqual(seen[1]);
  });
});
