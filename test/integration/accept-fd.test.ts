/**
 * ACCEPT-FD:<fdnum> (socat 1.8): tsocat serves a listening socket it inherits
 * from a supervisor. Under systemd-socket-activate (what the man page has in
 * mind), and with a socket this test binds and hands over as descriptor 3.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exited, freePort, requireOrSkip, ROOT, socat18OrSkip, stop, tcpExchange, tempDir, tsocat, TSOCAT, waitFor, waitForPort } from '../helpers.js';


const started: ChildProcess[] = [];
afterEach(async () => {
  for (const p of started.splice(0)) await stop(p);
});

/** Starts a program with its stdout/stderr collected. */
function launch(cmd: string, args: string[], stdio: Array<'pipe' | number> = ['pipe', 'pipe', 'pipe']) {
  const child = spawn(cmd, args, { cwd: ROOT, stdio });
  started.push(child);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return Object.assign(child, { errors: () => err });
}

/** A listening socket on 127.0.0.1 and its descriptor, for a child to inherit. */
async function listeningDescriptor(): Promise<{ server: Server; fd: number; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
  const address = server.address();
  return { server, fd, port: typeof address === 'object' && address ? address.port : 0 };
}

/**
 * Starts `program args` with a listening socket as its descriptor 3, then
 * closes this process's copy so that only the child accepts on it.
 */
async function withInheritedListener(program: string, args: string[]) {
  const { server, fd, port } = await listeningDescriptor();
  const child = launch(program, args, ['pipe', 'pipe', 'pipe', fd]);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return { child, port };
}

describe('ACCEPT-FD under systemd-socket-activate', () => {
  it('systemd-socket-activate -l 127.0.0.1:P tsocat ACCEPT-FD:3,fork PIPE echoes each client', async (ctx) => {
    requireOrSkip(ctx, 'socketActivate');
    const port = await freePort();
    const activator = launch('systemd-socket-activate', ['-l', `127.0.0.1:${port}`, process.execPath, TSOCAT, 'ACCEPT-FD:3,fork', 'PIPE']);
    await waitForPort(port);
    expect((await tcpExchange(port, 'first\n')).toString()).toBe('first\n');
    // fork: the same tsocat serves the next client too
    expect((await tcpExchange(port, 'second\n')).toString()).toBe('second\n');
    expect(activator.errors()).not.toMatch(/ E /);
  });

  it('tsocat serve: each relay takes its own socket by name (--fdname), and a reload that changes one takes the same socket again', async (ctx) => {
    requireOrSkip(ctx, 'socketActivate');
    const { dir, cleanup } = tempDir();
    try {
      const [webPort, otherPort] = [await freePort(), await freePort()];
      const file = join(dir, 'relays.yaml');
      const relays = (web: string) => `relays:\n  web:\n    address1: "ACCEPT-FD:web,fork"\n    address2: "${web}"\n  other:\n    address1: "ACCEPT-FD:other,fork"\n    address2: "SYSTEM:echo other"\n`;
      writeFileSync(file, relays('PIPE'));
      // the order of -l is the order of the descriptors (3, 4); the names say which is which, whatever the order
      const activator = launch('systemd-socket-activate', ['-l', `127.0.0.1:${otherPort}`, '-l', `127.0.0.1:${webPort}`, '--fdname=other:web', process.execPath, TSOCAT, 'serve', file]);
      await waitForPort(webPort);
      // systemd-socket-activate starts tsocat when the first client comes
      expect((await tcpExchange(webPort, 'echo me\n')).toString()).toBe('echo me\n');
      await waitFor(() => /serving 2 relays/.test(activator.errors()), 5000, 'serve to start');
      expect((await tcpExchange(otherPort, 'x\n')).toString()).toBe('other\n');
      writeFileSync(file, relays('SYSTEM:echo changed'));
      // systemd-socket-activate execs the program: its pid is tsocat's
      activator.kill('SIGHUP');
      await waitFor(() => /reload: 0 added, 0 removed, 1 changed, 1 unchanged/.test(activator.errors()), 5000, `the reload (tsocat said: ${activator.errors()})`);
      expect((await tcpExchange(webPort, 'x\n')).toString()).toBe('changed\n');
      expect((await tcpExchange(otherPort, 'x\n')).toString()).toBe('other\n');
      expect(activator.errors()).not.toMatch(/ E /);
    } finally {
      cleanup();
    }
  });
});

describe('ACCEPT-FD on a UNIX stream socket', () => {
  it('systemd-socket-activate -l <path>: tsocat serves the UNIX socket it is handed', async (ctx) => {
    requireOrSkip(ctx, 'socketActivate');
    const { dir, cleanup } = tempDir();
    try {
      const path = join(dir, 'sock');
      const activator = launch('systemd-socket-activate', ['-l', path, process.execPath, TSOCAT, '-d', '-d', 'ACCEPT-FD:3,fork', 'PIPE']);
      await waitFor(() => existsSync(path));
      const reply = await new Promise<string>((resolve, reject) => {
        const c = connect({ path, allowHalfOpen: true });
        let got = '';
        c.on('data', (d: Buffer) => {
          got += d.toString();
        });
        c.on('end', () => resolve(got));
        c.on('error', reject);
        c.end('over unix\n');
      });
      expect(reply).toBe('over unix\n');
      await waitFor(() => activator.errors().includes('N accepting connection from AF=1 "" on AF=1 ""'));
    } finally {
      cleanup();
    }
  });
});

describe('ACCEPT-FD with an inherited descriptor', () => {
  it('without fork serves one client, then ends with status 0', async () => {
    const { child, port } = await withInheritedListener(process.execPath, [TSOCAT, '-d', '-d', 'ACCEPT-FD:3', 'PIPE']);
    await waitFor(() => /listening on AF=2 127\.0\.0\.1:/.test(child.errors()));
    expect((await tcpExchange(port, 'once\n')).toString()).toBe('once\n');
    expect(await exited(child)).toBe(0);
    expect(child.errors()).toContain('using file descriptor 3 accepting a connection for reading and writing');
    expect(child.errors()).toMatch(/N accepting connection from AF=2 127\.0\.0\.1:\d+ on AF=2 127\.0\.0\.1:\d+/);
  });

  it('range turns away a client outside it with a warning; the client sees end of file', async () => {
    const { child, port } = await withInheritedListener(process.execPath, [TSOCAT, 'ACCEPT-FD:3,fork,range=10.0.0.0/8', 'PIPE']);
    await waitFor(() => existsSync(`/proc/${child.pid}`));
    const reply = await tcpExchange(port, 'nope\n');
    expect(reply.toString()).toBe('');
    await waitFor(() => child.errors().includes('refusing connection from AF=2 127.0.0.1:'));
    expect(child.errors()).toContain('due to range option');
  });

  it('lowport turns away a client from an unprivileged port, as on TCP-LISTEN', async () => {
    const { child, port } = await withInheritedListener(process.execPath, [TSOCAT, 'ACCEPT-FD:3,fork,lowport', 'PIPE']);
    expect((await tcpExchange(port, 'high port\n')).toString()).toBe('');
    await waitFor(() => child.errors().includes('due to lowport option'));
  });

  it('a program started for a peer does not inherit the listening socket (close-on-exec, as socat sets)', async () => {
    const { child, port } = await withInheritedListener(process.execPath, [TSOCAT, 'ACCEPT-FD:3', 'SYSTEM:ls -l /proc/self/fd']);
    const listing = (await tcpExchange(port, '')).toString();
    expect(await exited(child)).toBe(0);
    expect(listing).toMatch(/ 0 -> /);
    expect(listing.split('\n').filter((l) => /socket:/.test(l) && !/ [012] -> /.test(l))).toEqual([]);
  });

  it('logs what socat 1.8.1.1 logs for the same run (notice lines, peer addresses masked)', async (ctx) => {
    const socat18 = socat18OrSkip(ctx, "Debian's 1.7.4.4 has no ACCEPT-FD");
    const lines = async (program: string, args: string[]) => {
      const { child, port } = await withInheritedListener(program, args);
      await waitFor(() => child.errors().includes('listening on'));
      expect((await tcpExchange(port, 'cmp\n')).toString()).toBe('cmp\n');
      await exited(child);
      return child
        .errors()
        .split('\n')
        .filter((l) => / N (using|listening|accepting)/.test(l))
        .map((l) => l.replace(/^.* N /, '').replace(/:\d+/g, ':P'));
    };
    const ours = await lines(process.execPath, [TSOCAT, '-d', '-d', 'ACCEPT-FD:3', 'PIPE']);
    const theirs = await lines(socat18, ['-d', '-d', 'ACCEPT-FD:3', 'PIPE']);
    expect(ours).toEqual(theirs);
  });
});

describe('ACCEPT-FD bad input: one E line, status 1', () => {
  const refused = async (args: string[], message: string | RegExp, stdio?: number) => {
    const r = stdio === undefined ? await tsocat(args) : await runWithFd3(args, stdio);
    expect(r.status).toBe(1);
    const errors = r.stderr.split('\n').filter((l) => / E /.test(l));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
  };

  it('without a descriptor number', () => refused(['ACCEPT-FD', 'PIPE'], 'E ACCEPT-FD: wrong number of parameters (0 instead of 1): usage: ACCEPT-FD:<fdnum>'));
  it('with a number that is not one', () => refused(['ACCEPT-FD:3x', 'PIPE'], 'E error in FD number "3x"'));
  it('with a name, when no socket was passed by name', () => refused(['ACCEPT-FD:three', 'PIPE'], 'E ACCEPT-FD: no socket named "three" was passed (LISTEN_FDNAMES is not set; a descriptor number or a socket name is expected)'));
  it('with a name LISTEN_FDNAMES does not have, or sockets passed to another process', async () => {
    const env = { ...process.env, LISTEN_FDS: '2', LISTEN_FDNAMES: 'web:ssh' };
    for (const [extra, message] of [
      [{}, 'E ACCEPT-FD: no socket named "three" was passed (LISTEN_FDNAMES=web:ssh, LISTEN_FDS=2)'],
      [{ LISTEN_PID: '1' }, /E ACCEPT-FD: the sockets in LISTEN_FDNAMES were passed to process 1 \(LISTEN_PID\), not to this one \(\d+\)$/],
    ] as const) {
      const r = await tsocat(['ACCEPT-FD:three', 'PIPE'], { env: { ...env, ...extra } });
      expect(r.status).toBe(1);
      const errors = r.stderr.split('\n').filter((l) => / E /.test(l));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(message);
    }
  });
  it('with a descriptor that is not open', () => refused(['ACCEPT-FD:213', 'PIPE'], 'E accept(213): Bad file descriptor'));
  it('with a descriptor that is a file, not a socket', () => {
    const fd = openSync('/dev/null', 'r');
    return refused(['ACCEPT-FD:3', 'PIPE'], 'E accept(3): Socket operation on non-socket', fd).finally(() => closeSync(fd));
  });
  it('with a socket that does not listen (a connected client)', async () => {
    const { server, port } = await listeningDescriptor();
    const client = connect(port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    const fd = (client as unknown as { _handle: { fd: number } })._handle.fd;
    try {
      await refused(['ACCEPT-FD:3', 'PIPE'], 'E accept(3): Invalid argument', fd);
    } finally {
      client.destroy();
      server.close();
    }
  });
  it('with a LISTEN option (the socket already listens), as socat', () =>
    refused(['ACCEPT-FD:3,backlog=5', 'PIPE'], 'E parseopts_table(): option "backlog" not supported with this address type'));
  it('with a bad range', () => refused(['ACCEPT-FD:3,range=1.2.3.4/99', 'PIPE'], 'netmask "1.2.3.4/99" is too large'));
});

/** Runs tsocat to its end with `fd` as its descriptor 3. */
function runWithFd3(args: string[], fd: number): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, [TSOCAT, ...args], { stdio: ['ignore', 'pipe', 'pipe', fd] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  // bounded: a run that hangs is killed and fails the status check
  const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
  return new Promise((resolve) =>
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stderr });
    }),
  );
}
