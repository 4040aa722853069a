/**
 * For the socket-phase tests: a program that reads socket options back from
 * the connection it is handed (EXEC:…,nofork gives it the socket as stdin
 * and stdout) and writes them to the peer, and the two ways to run it, behind
 * a connecting address and behind a listening one, with tsocat or socat.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { freePort, run, stop, TSOCAT, waitForPort } from './helpers.js';
import { ss } from './socket-helpers.js';

/** One getsockopt(): level, option name, and whether the value is a NUL-terminated string (SO_BINDTODEVICE). */
export type Probe = [level: number, name: number, text?: 'string'];

/** A script printing each probed option of its stdin, space-separated (ints as `a,b`, strings in brackets, ERR on failure), then a newline. */
export function probeProgram(dir: string, probes: Probe[]): string {
  const path = join(dir, `probe-${probes.map((p) => p.join('_')).join('-')}`);
  const args = probes.map(([level, name, text]) => `${level}:${name}${text ? ':s' : ''}`).join(' ');
  const perl =
    'for my $p (@ARGV) { my ($l, $n, $s) = split /:/, $p; my $v = getsockopt(STDIN, $l, $n); ' +
    'print defined $v ? ($s ? "[" . unpack("Z*", $v) . "]" : join(",", unpack("i*", $v))) : "ERR"; print " " } print "\\n";';
  writeFileSync(path, `#!/bin/sh\nexec perl -e '${perl}' ${args}\n`, { mode: 0o755 });
  return path;
}

export type Tool = { name: string; command: string[] };
export const tsocatTool: Tool = { name: 'tsocat', command: [process.execPath, TSOCAT] };

function spawnTool(tool: Tool, args: string[]) {
  const [command, ...first] = tool.command as [string, ...string[]];
  const child = spawn(command, [...first, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let errors = '';
  child.stderr.on('data', (d: Buffer) => (errors += d.toString()));
  return Object.assign(child, { errors: () => errors });
}

/** What a peer saw: the probe's line, and the MSS it sends with on that connection (from ss), or the tool's error. */
export interface Seen {
  line: string;
  peerMss?: number;
  status: number | null;
  stderr: string;
}

function mssOf(localPort: number, remotePort: number): number | undefined {
  const text = ss('tni', `sport = :${localPort} dport = :${remotePort}`).join(' ');
  const m = / mss:(\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** `tool TCP4:127.0.0.1:<server>,<options> EXEC:<probe>,nofork`: the server reads the probe's line. */
export async function probeClient(tool: Tool, options: string, program: string, address = 'TCP4:127.0.0.1'): Promise<Seen> {
  let peer: Socket | undefined;
  let line = '';
  let peerMss: number | undefined;
  const server = createServer((s) => {
    peer = s;
    peerMss = mssOf(s.localPort ?? 0, s.remotePort ?? 0);
    s.on('data', (d: Buffer) => (line += d.toString()));
    s.on('error', () => {});
  });
  const host = address.startsWith('TCP6') ? '::1' : '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as { port: number }).port;
  try {
    const r = await run(tool.command[0] as string, [...tool.command.slice(1), '-d', `${address}:${port}${options ? `,${options}` : ''}`, `EXEC:${program},nofork`], { timeoutMs: 10000 });
    return { line: line.trim(), peerMss, status: r.status, stderr: r.stderr };
  } finally {
    peer?.destroy();
    server.close();
  }
}

/** `tool TCP4-LISTEN:<port>,<options> EXEC:<probe>,nofork`, and a client that reads the probe's line. */
export async function probeListener(tool: Tool, options: string, program: string): Promise<Seen> {
  const port = await freePort();
  const child = spawnTool(tool, ['-d', `TCP4-LISTEN:${port},bind=127.0.0.1${options ? `,${options}` : ''}`, `EXEC:${program},nofork`]);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const up = await Promise.race([waitForPort(port).then(() => true), exited.then(() => false)]);
    if (!up) return { line: '', status: await exited, stderr: child.errors() };
    const client = connect({ port, host: '127.0.0.1' });
    client.on('error', () => {});
    await new Promise((resolve) => client.once('connect', resolve));
    const peerMss = mssOf(client.localPort ?? 0, port);
    let line = '';
    client.on('data', (d: Buffer) => (line += d.toString()));
    await new Promise((resolve) => client.once('end', resolve));
    client.destroy();
    return { line: line.trim(), peerMss, status: await exited, stderr: child.errors() };
  } finally {
    await stop(child);
  }
}
