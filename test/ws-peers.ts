/**
 * Real WebSocket peers for the WS tests, made with the ws package (the
 * library most Node WebSocket programs use): an echo server that records
 * what each client sent it, and a client that collects messages. Everything
 * started here is closed after the test.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { afterEach } from 'vitest';
import { type RawData, WebSocket, WebSocketServer } from 'ws';

export interface Message {
  data: Buffer;
  binary: boolean;
}

export interface EchoServer {
  port: number;
  /** Request headers of each client, in the order they came. */
  headers: IncomingHttpHeaders[];
  /** Messages received, from every client. */
  received: Message[];
  /** Pings received. */
  pings: number;
  /** The subprotocol chosen for each client ('' for none). */
  protocols: string[];
  /** The extensions agreed with each client ('' for none; `permessage-deflate` when compressing). */
  extensions: string[];
  /** Closes the server and its clients (also done after each test). */
  close(): Promise<void>;
}

const asBuffer = (d: RawData): Buffer => (Buffer.isBuffer(d) ? d : Array.isArray(d) ? Buffer.concat(d) : Buffer.from(d));

/**
 * For a test file: starts ws echo servers on 127.0.0.1 (each message sent back
 * as it came, text or binary), closed after each test. `autoPong: false` makes
 * one that never answers pings; `protocol` one that chooses that subprotocol.
 */
export function wsEchoServers(): (opts?: { autoPong?: boolean; protocol?: string; echo?: boolean; deflate?: boolean }) => Promise<EchoServer> {
  const servers: WebSocketServer[] = [];
  const closeServer = async (s: WebSocketServer) => {
    for (const c of s.clients) c.terminate();
    await new Promise((r) => s.close(r));
  };
  afterEach(async () => {
    for (const s of servers.splice(0)) await closeServer(s);
  });
  return async (opts = {}) => {
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      autoPong: opts.autoPong ?? true,
      perMessageDeflate: opts.deflate ?? false,
      handleProtocols: (offered) => (opts.protocol !== undefined && offered.has(opts.protocol) ? opts.protocol : false),
    });
    servers.push(wss);
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const state: EchoServer = { port: (wss.address() as { port: number }).port, headers: [], received: [], pings: 0, protocols: [], extensions: [], close: () => closeServer(wss) };
    wss.on('connection', (ws, req) => {
      state.headers.push(req.headers);
      state.protocols.push(ws.protocol);
      state.extensions.push(ws.extensions);
      ws.on('ping', () => {
        state.pings++;
      });
      ws.on('message', (data, binary) => {
        state.received.push({ data: asBuffer(data), binary });
        if (opts.echo !== false) ws.send(data, { binary });
      });
    });
    return state;
  };
}

/** A ws client that has connected (or the server's refusal: its HTTP status). */
export function wsClient(url: string, opts: { protocols?: string[]; headers?: Record<string, string>; ca?: Buffer } = {}): Promise<{ ws: WebSocket; messages: Message[]; closed: Promise<void> } | { status: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts.protocols ?? [], { headers: opts.headers, ca: opts.ca });
    const messages: Message[] = [];
    const closed = new Promise<void>((r) => ws.once('close', () => r()));
    ws.on('message', (data, binary) => messages.push({ data: asBuffer(data), binary }));
    ws.once('open', () => resolve({ ws, messages, closed }));
    ws.once('unexpected-response', (req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      req.destroy();
    });
    ws.once('error', reject);
  });
}

/** For a test file: TCP echo servers on 127.0.0.1 (no greeting), closed after each test. */
export function tcpEchoServers(): () => Promise<number> {
  const servers: import('node:net').Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((r) => s.close(() => r(undefined)));
  });
  return async () => {
    const { createServer } = await import('node:net');
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      socket.on('error', () => {});
      socket.pipe(socket);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return (server.address() as { port: number }).port;
  };
}
