import { type ChildProcess, spawn } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { createLogger, DEFAULT_LOG_CONFIG } from '../../src/log/logger.js';
import { freePort, stop, tempDir, waitFor, waitForPort } from '../helpers.js';
import { danteCommand, tinyproxyCommand } from '../tls-peers.js';
import { asEndpoint, openAddress, testEndpoint } from './suite.js';

// the servers run for the whole file, so the descriptor count of one case does not see their pipes come and go
let tmp: ReturnType<typeof tempDir>;
let target: Awaited<ReturnType<typeof collector>>;
let proxyPort: number;
let dantePort: number;
const peers: ChildProcess[] = [];
async function startPeer(cmd: string, args: string[], port: number): Promise<void> {
  peers.push(spawn(cmd, args, { stdio: 'ignore' }));
  await waitForPort(port, 10000);
}
beforeAll(async () => {
  tmp = tempDir();
  target = await collector();
  proxyPort = await tinyproxy(target.port);
  dantePort = await dante();
});
afterAll(async () => {
  for (const p of peers.splice(0)) await stop(p);
  await target.close();
  tmp.cleanup();
});

/** A loopback server that keeps everything each client sends, until the client's end of data; `received` is the latest client's. */
async function collector() {
  const sockets = new Set<Socket>();
  let done: Promise<Buffer> = new Promise(() => {});
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    const chunks: Buffer[] = [];
    done = new Promise((resolve) => {
      s.on('data', (d: Buffer) => chunks.push(d));
      s.on('end', () => {
        s.end();
        resolve(Buffer.concat(chunks));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    received: () => done,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

async function tinyproxy(allowedPort: number) {
  const port = await freePort();
  const [cmd, args] = tinyproxyCommand(tmp.dir, port, allowedPort);
  await startPeer(cmd, args, port);
  return port;
}

async function dante() {
  const port = await freePort();
  const [cmd, args] = danteCommand(tmp.dir, port);
  await startPeer(cmd, args, port);
  return port;
}

/** One case per family: the bytes must arrive whole at a target reached through the real proxy or SOCKS server. */
function throughProxy(name: string, address: (proxy: number, target: number) => string, server: () => number) {
  testEndpoint({
    name,
    open: async () => {
      const endpoint = asEndpoint(await openAddress(address(server(), target.port)));
      return { endpoint, received: target.received };
    },
    failing: async () => address(await freePort(), 1),
  });
}

throughProxy('PROXY:<proxy>:<host>:<port> (tinyproxy)', (proxy, target) => `PROXY:127.0.0.1:127.0.0.1:${target},proxyport=${proxy}`, () => proxyPort);
throughProxy('SOCKS4:<server>:<host>:<port> (danted)', (socks, target) => `SOCKS4:127.0.0.1:127.0.0.1:${target},socksport=${socks}`, () => dantePort);
throughProxy('SOCKS5-CONNECT:<server>:<port>:<host>:<port> (danted)', (socks, target) => `SOCKS5-CONNECT:127.0.0.1:${socks}:127.0.0.1:${target}`, () => dantePort);

testEndpoint({
  name: 'SOCKS5-LISTEN:<server>:<port>:<host>:<port> (danted BIND; the peer that connects to the bound port)',
  open: async () => {
    // the bound port is known only from the server's first reply, which the address logs
    const lines: string[] = [];
    const log = { ...createLogger(DEFAULT_LOG_CONFIG), enabled: () => true, log: (_level: string, message: string) => void lines.push(message) };
    const opening = openAddress(`SOCKS5-LISTEN:127.0.0.1:${dantePort}:127.0.0.1:0`, { log });
    let bound = 0;
    await waitFor(() => {
      bound = Number(lines.map((l) => /SOCKS5 server listening on [\d.]+:(\d+)/.exec(l)?.[1]).find(Boolean) ?? 0);
      return bound > 0;
    });
    // the far side: a client of the bound port that echoes what it gets
    const client = connect({ port: bound, host: '127.0.0.1', allowHalfOpen: true });
    client.on('error', () => {});
    client.pipe(client);
    const endpoint = asEndpoint(await opening);
    return { endpoint, received: 'echo', cleanup: async () => void client.destroy() };
  },
  failing: async () => `SOCKS5-LISTEN:127.0.0.1:${await freePort()}:127.0.0.1:0`,
});
