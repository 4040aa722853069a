/**
 * Start-up loads only what the command line names (issue 18): the bundled
 * command keeps each address family apart and loads it when an address needs
 * it, and heavy built-ins (TLS, UDP, crypto, child processes) with it.
 * TSOCAT_DEBUG_MODULES=1 makes bin/tsocat.js print, at exit, the family files
 * the registry loaded, Node's built-in modules and the files required from disk.
 */
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, tsocat } from '../helpers.js';

interface Loaded {
  families: string[];
  builtins: string[];
  files: string[];
}

const DEBUG_ENV = { ...process.env, TSOCAT_DEBUG_MODULES: '1' };

function loadedBy(stderr: string): Loaded {
  const line = stderr.split('\n').find((l) => l.startsWith('{"families"'));
  if (!line) throw new Error(`no TSOCAT_DEBUG_MODULES line on stderr: ${JSON.stringify(stderr)}`);
  return JSON.parse(line) as Loaded;
}

/** A TCP server on 127.0.0.1 that sends `text` to each client and closes. */
async function greeter(text: string): Promise<{ port: number; close: () => void }> {
  const server = createServer((c) => c.end(text));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, close: () => server.close() };
}

describe('what a command line loads', () => {
  it('tsocat -u TCP:127.0.0.1:P STDOUT loads the TCP and STDIO families and no TLS, PTY, serial, SOCKS or UDP module', async () => {
    const server = await greeter('hello\n');
    try {
      const r = await tsocat(['-u', `TCP:127.0.0.1:${server.port}`, 'STDOUT'], { env: DEBUG_ENV });
      expect(r.stdout.toString()).toBe('hello\n');
      expect(r.status).toBe(0);
      const loaded = loadedBy(r.stderr);
      expect(loaded.families).toEqual(['stdio.js', 'tcp.js']);
      for (const family of ['openssl.js', 'pty.js', 'serial.js', 'socks.js', 'udp.js']) expect(loaded.families).not.toContain(family);
      for (const builtin of ['tls', '_tls_wrap', 'dgram', 'internal/dgram', 'crypto', 'child_process', 'readline', 'worker_threads']) {
        expect(loaded.builtins, builtin).not.toContain(builtin);
      }
      expect(loaded.files.filter((f) => /node-pty|serialport|koffi|pino|node_modules\/ws\/|selfsigned|yargs|yaml|prom-client/.test(f))).toEqual([]);
    } finally {
      server.close();
    }
  });

  it('tsocat -u /dev/null /dev/null loads the FILE family and neither fs/promises nor readline (files are written without fs.createWriteStream)', async () => {
    const r = await tsocat(['-u', '/dev/null', '/dev/null'], { env: DEBUG_ENV });
    expect(r.status).toBe(0);
    const loaded = loadedBy(r.stderr);
    expect(loaded.families).toEqual(['file.js']);
    for (const builtin of ['internal/fs/promises', 'internal/fs/streams', 'internal/readline/interface', 'readline', 'net', 'tty']) expect(loaded.builtins, builtin).not.toContain(builtin);
  });

  it('a plain UNIX-CONNECT is connected by Node: no koffi, dns or fs/promises; an option that needs the descriptor layer (so-type) loads it', async () => {
    const { dir, cleanup } = tempDir();
    const path = join(dir, 'sock');
    const server = createServer((c) => c.pipe(c));
    await new Promise<void>((r) => server.listen(path, r));
    try {
      const plain = await tsocat(['-', `UNIX-CONNECT:${path}`], { env: DEBUG_ENV, input: 'hi\n' });
      expect(plain.stdout.toString()).toBe('hi\n');
      expect(plain.status).toBe(0);
      expect(loadedBy(plain.stderr).files.filter((f) => f.includes('/koffi/'))).toEqual([]);
      // the UNIX family shares the sockets folder with TCP: name lookups and res-nsaddr's hosts file load on first use
      for (const builtin of ['dns', 'dns/promises', 'internal/fs/promises', 'internal/readline/interface']) expect(loadedBy(plain.stderr).builtins, builtin).not.toContain(builtin);
      const typed = await tsocat(['-', `UNIX-CONNECT:${path},so-type=1`], { env: DEBUG_ENV, input: 'hi\n' });
      expect(typed.stdout.toString()).toBe('hi\n');
      expect(loadedBy(typed.stderr).files.some((f) => f.includes('/koffi/'))).toBe(true);
    } finally {
      server.close();
      cleanup();
    }
  });

  it('tsocat - - loads the STDIO family alone', async () => {
    const r = await tsocat(['-', '-'], { env: DEBUG_ENV, input: 'hi\n' });
    expect(r.stdout.toString()).toBe('hi\n');
    expect(loadedBy(r.stderr).families).toEqual(['stdio.js']);
  });

  it('the ws package is loaded only when a WebSocket address is named: -u /dev/null WS:… loads websocket.js and ws', async () => {
    const server = createServer((c) => c.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      // the server hangs up instead of answering the upgrade: the run fails after connecting, which is enough to see what it loaded
      const r = await tsocat(['-u', '/dev/null', `WS:ws://127.0.0.1:${(server.address() as { port: number }).port}/`], { env: DEBUG_ENV, timeoutMs: 5000 });
      const loaded = loadedBy(r.stderr);
      expect(loaded.families).toEqual(['file.js', 'websocket.js']);
      expect(loaded.files.some((f) => /node_modules\/ws\/index\.js$/.test(f))).toBe(true);
    } finally {
      server.close();
    }
  });

  it('the report sees a family when one is named: -u /dev/null UDP-SENDTO loads UDP and dgram', async () => {
    const peer = createSocket('udp4');
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', r));
    try {
      const r = await tsocat(['-u', '/dev/null', `UDP-SENDTO:127.0.0.1:${peer.address().port}`], { env: DEBUG_ENV });
      expect(r.status).toBe(0);
      const loaded = loadedBy(r.stderr);
      expect(loaded.families).toEqual(['file.js', 'udp.js']);
      expect(loaded.builtins).toContain('dgram');
    } finally {
      peer.close();
    }
  });

  it('the report sees what serve loads: tsocat serve --check loads yargs and yaml, which a relay never does', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = join(dir, 'relays.yaml');
      writeFileSync(file, 'relays:\n  a:\n    address1: TCP-LISTEN:1234,fork\n    address2: EXEC:cat\n');
      const r = await tsocat(['serve', '--check', file], { env: DEBUG_ENV });
      expect(r.status).toBe(0);
      const files = loadedBy(r.stderr).files;
      expect(files.some((f) => f.includes('/node_modules/yargs/'))).toBe(true);
      expect(files.some((f) => f.includes('/node_modules/yaml/'))).toBe(true);
    } finally {
      cleanup();
    }
  });
});
