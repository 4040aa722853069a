/** Socket plumbing shared by the socket option tests and their socat comparisons. */
import { spawnSync } from 'node:child_process';
import { closeSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach } from 'vitest';

/** `ss` lines (no header) for the given state and address filter, e.g. `state time-wait sport = :1234`. */
export function ss(flags: string, filter: string): string[] {
  const r = spawnSync('ss', [`-${flags}H`, ...filter.split(' ')], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}

/**
 * A program that prints socket options of the connection on its stdin, for
 * EXEC:…,nofork: TCP_NODELAY, SO_KEEPALIVE, TCP_KEEPIDLE, SO_LINGER (on and
 * seconds). perl is on every Debian system.
 */
export function sockoptProbe(dir: string): string {
  const probe = join(dir, 'sockopts');
  const perl = 'for ([6, 1], [1, 9], [6, 4], [1, 13]) { print join(",", unpack("i*", getsockopt(STDIN, $_->[0], $_->[1]))), " " }';
  writeFileSync(probe, `#!/bin/sh\nexec perl -e '${perl}'\n`, { mode: 0o755 });
  return `EXEC:${probe},nofork`;
}

/**
 * A listener that never accepts, with a queue of one that a first connection
 * fills: the kernel drops further SYNs, so a connect() there hangs without
 * contacting anything beyond loopback. Made through libc so Node never accepts.
 */
export function blackholeListener(port: number): () => void {
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const libc = koffi.load('libc.so.6');
  const socket = libc.func('int socket(int, int, int)');
  const bind = libc.func('int bind(int, void *, uint32)');
  const listen = libc.func('int listen(int, int)');
  const fd = socket(2, 1, 0) as number;
  const sa = Buffer.alloc(16);
  sa.writeUInt16LE(2, 0);
  sa.writeUInt16BE(port, 2);
  sa.set([127, 0, 0, 1], 4);
  if (fd < 0 || bind(fd, sa, 16) !== 0 || listen(fd, 0) !== 0) throw new Error('blackhole listener');
  return () => closeSync(fd);
}

/**
 * For a test file: loopback servers that keep every connection open and read
 * (and drop) what comes, never writing; servers and connections, plus any
 * socket handed to keep(), are closed after each test.
 */
export function quietServers(): { server: () => Promise<{ port: number; connected: Promise<Socket> }>; keep: (s: Socket) => void } {
  const servers: Server[] = [];
  const peers: Socket[] = [];
  afterEach(() => {
    for (const s of peers.splice(0)) s.destroy();
    for (const s of servers.splice(0)) s.close();
  });
  const server = async () => {
    let onConnection: (s: Socket) => void = () => {};
    const connected = new Promise<Socket>((resolve) => (onConnection = resolve));
    const srv = createServer({ allowHalfOpen: true }, (s) => {
      peers.push(s);
      s.on('error', () => {});
      s.resume();
      onConnection(s);
    });
    servers.push(srv);
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const address = srv.address();
    return { port: typeof address === 'object' && address ? address.port : 0, connected };
  };
  return { server, keep: (s) => peers.push(s) };
}

/** An echo server on 127.0.0.1 (each connection gets back what it sends); close() stops it. */
export async function echoServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createServer((s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise<void>((r) => server.close(() => r())) };
}
