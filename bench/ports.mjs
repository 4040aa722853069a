/**
 * Loopback ports for the benchmark and the churn script: a free one, and
 * waiting for a listener by reading the kernel's tables (no probe connection,
 * which a listener without fork would take as its one peer).
 */
import { readFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A port nothing listens on right now (the kernel's pick, released at once). */
export async function reservePort() {
  const srv = createServer();
  const port = await new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv.address().port)));
  await new Promise((r) => srv.close(r));
  return port;
}

/** True when something is in LISTEN state on the port (read from /proc, no connection made). */
export function isListening(port) {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f[1]?.endsWith(hex) && f[3] === '0A') return true;
      }
    } catch {
      // no such table
    }
  }
  return false;
}

/** Waits (bounded in count and time) until the port listens. */
export async function waitListening(port, ms = 10000) {
  const end = Date.now() + ms;
  for (let i = 0; i < 2000 && Date.now() < end; i++) {
    if (isListening(port)) return;
    await sleep(5);
  }
  throw new Error(`nothing listens on ${port} after ${ms} ms`);
}

/** A UDP port nothing is bound to right now (the kernel's pick, released at once). */
export async function reserveUdpPort() {
  const s = createSocket('udp4');
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/** True once something is bound to the UDP port (read from /proc, nothing sent). */
export async function waitUdpBound(port, ms = 10000) {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const end = Date.now() + ms;
  for (let i = 0; i < 2000 && Date.now() < end; i++) {
    const lines = readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1);
    if (lines.some((l) => l.trim().split(/\s+/)[1]?.endsWith(hex))) return;
    await sleep(5);
  }
  throw new Error(`nothing bound to UDP port ${port}`);
}
