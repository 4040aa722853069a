/**
 * The endpoint contract for the UNIX and ABSTRACT families: stream peers
 * (CONNECT, CLIENT, the accepted peer of LISTEN) round-trip with an echo
 * server; SENDTO's datagrams reach a receiver whole; RECV and RECVFROM, which
 * read (and answer) datagrams, are run through the command.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourceOf } from '../../src/engine/endpoint.js';
import { rawSocketEndpoint } from '../../src/engine/sockets/messages/raw-socket.js';
import { unixAddress } from '../../src/engine/sockets/unix/unix-socket.js';
import { AF_UNIX, bindSocket, listenSocket, openSocket, SOCK_DGRAM, SOCK_STREAM } from '../../src/sys/sockets.js';
import { tempDir, waitFor } from '../helpers.js';
import { asEndpoint, openAddress, testEndpoint, tsocat } from './suite.js';

let counter = 0;
/** A fresh name: a path in a new directory, or an abstract name unique to this process. */
function freshName(abstract: boolean): { name: string; cleanup: () => Promise<void> } {
  counter++;
  if (abstract) return { name: `tsocat-conformance-${process.pid}-${counter}`, cleanup: async () => {} };
  const t = tempDir();
  return { name: join(t.dir, 's'), cleanup: async () => t.cleanup() };
}

/** A UNIX stream echo server (Node's net) on a path or an abstract name. */
async function echoServer(abstract: boolean): Promise<{ name: string; close: () => Promise<void> }> {
  const { name, cleanup } = freshName(abstract);
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    // the backpressure case closes while the echo still writes
    s.on('error', () => {});
    s.pipe(s);
  });
  // Node binds an abstract name padded to the whole sockaddr_un (not socat's), so that socket is bound here and handed to Node
  if (abstract) {
    const fd = openSocket(AF_UNIX, SOCK_STREAM, 0);
    bindSocket(fd, unixAddress(name, true), name);
    listenSocket(fd, 16);
    await new Promise<void>((r) => server.listen({ fd }, () => r()));
  } else await new Promise<void>((r) => server.listen(name, () => r()));
  return {
    name,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => void cleanup().then(r));
      }),
  };
}

for (const abstract of [false, true]) {
  const prefix = abstract ? 'ABSTRACT' : 'UNIX';
  for (const kind of ['CONNECT', 'CLIENT']) {
    testEndpoint({
      name: `${prefix}-${kind}:<name> (stream)`,
      open: async () => {
        const echo = await echoServer(abstract);
        const endpoint = asEndpoint(await openAddress(`${prefix}-${kind}:${echo.name}`));
        return { endpoint, received: 'echo', cleanup: echo.close };
      },
      // an abstract name no one listens on is no failure for CLIENT (it falls back to sending datagrams, as socat): a name too long is
      failing: () => (abstract ? `${prefix}-${kind}:${'x'.repeat(200)}` : `${prefix}-${kind}:${freshName(abstract).name}`),
    });
  }

  testEndpoint({
    name: `${prefix}-LISTEN:<name> (the accepted peer)`,
    open: async () => {
      const { name, cleanup } = freshName(abstract);
      const listener = await openAddress(`${prefix}-LISTEN:${name}`);
      if (listener.kind !== 'listener') throw new Error('expected a listener');
      // the far side: a client that echoes (through tsocat's own client for an abstract name)
      const client = abstract ? asEndpoint(await openAddress(`ABSTRACT-CONNECT:${name}`)) : undefined;
      const plain = abstract ? undefined : connect({ path: name, allowHalfOpen: true });
      client?.writable?.on('error', () => {});
      if (client) client.readable?.pipe(client.writable as NodeJS.WritableStream);
      plain?.on('error', () => {});
      plain?.pipe(plain);
      const endpoint = await listener.accept();
      await listener.close();
      return { endpoint, received: 'echo', cleanup: async () => {
          plain?.destroy();
          await client?.close();
          await cleanup();
        },
      };
    },
    failing: () => `${prefix}-LISTEN:${abstract ? 'x'.repeat(200) : '/nonexistent-dir/s'}`,
  });

  testEndpoint({
    name: `${prefix}-SENDTO:<name> (datagrams)`,
    open: async () => {
      const { name, cleanup } = freshName(abstract);
      const fd = openSocket(AF_UNIX, SOCK_DGRAM, 0);
      bindSocket(fd, unixAddress(name, abstract), name);
      const receiver = rawSocketEndpoint(fd, { message: true, halfClose: false, description: 'receiver' });
      const got: Buffer[] = [];
      let total = 0;
      let reading = true;
      const source = sourceOf(receiver);
      source?.start({
        data: (c, release) => {
          got.push(Buffer.from(c));
          total += c.length;
          release();
        },
        end() {},
        error() {},
      });
      const endpoint = asEndpoint(await openAddress(`${prefix}-SENDTO:${name}`));
      // the backpressure case: nobody reads until asked, so the receiver's queue fills
      endpoint.readable?.on('pause', () => {
        reading = false;
        source?.pause();
      });
      void reading;
      return {
        endpoint,
        received: async () => {
          await waitFor(() => total >= 1 << 20, 10000);
          return Buffer.concat(got);
        },
        cleanup: async () => {
          await receiver.close();
          await cleanup();
        },
      };
    },
    failing: () => `${prefix}-SENDTO:${'x'.repeat(200)}`,
    noBackpressure: 'a datagram socket with no one reading drops nothing but blocks only when the receiver queue fills, which the receiver here keeps draining',
  });

  describe(`${prefix}-RECV and ${prefix}-RECVFROM through the command`, () => {
    it(`${prefix}-RECV: each datagram reaches stdout`, async () => {
      const { name, cleanup } = freshName(abstract);
      const run = tsocat(['-u', '-T', '2', `${prefix}-RECV:${name}`, '-']);
      await new Promise((r) => setTimeout(r, 700));
      await tsocat(['-u', '-', `${prefix}-SENDTO:${name}`], { input: 'datagram\n' });
      const r = await run;
      await cleanup();
      expect({ out: r.stdout.toString(), status: r.status }).toEqual({ out: 'datagram\n', status: 0 });
    });

    it(`${prefix}-RECVFROM: the sender gets the answer`, async () => {
      const { name, cleanup } = freshName(abstract);
      const reply = freshName(abstract);
      const server = tsocat([`${prefix}-RECVFROM:${name}`, 'SYSTEM:tr a-z A-Z']);
      await new Promise((r) => setTimeout(r, 700));
      const client = await tsocat(['-t', '2', '-', `${prefix}-SENDTO:${name},bind=${reply.name}`], { input: 'answer me\n' });
      const r = await server;
      await cleanup();
      await reply.cleanup();
      expect({ out: client.stdout.toString(), status: r.status }).toEqual({ out: 'ANSWER ME\n', status: 0 });
    });
  });
}
