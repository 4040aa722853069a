/**
 * Reading a proxy's or SOCKS server's reply from a connected socket before the
 * relay starts. Every byte is the peer's to choose, so the reply is handed to
 * a pure parser (proxy-protocol.ts, socks-protocol.ts) that says "need more",
 * "done after N bytes" or throws a TsocatError; the reader bounds the bytes it
 * keeps and turns end of file, errors and silence into one TsocatError too.
 */
import type { Socket } from 'node:net';
import { strerror, TsocatError, type SystemError } from '../../errors.js';
import type { AddressRequest, OpenContext } from '../context.js';
import { connectTcpSocket } from '../sockets/tcp-connect.js';

/** What a reply parser says about the bytes so far: undefined for "not complete yet". */
export type ReplyParser<T> = (bytes: Buffer) => { value: T; consumed: number } | undefined;

/** No reply this code reads is longer (socat's proxy buffer is 8 KiB; a SOCKS5 reply is at most 262 bytes). */
export const MAX_REPLY_BYTES = 8192;

export class HandshakeReader {
  private buffered: Buffer = Buffer.alloc(0);
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private readonly onData = (chunk: Buffer) => {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    this.wake?.();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.wake?.();
  };
  private readonly onError = (err: Error) => {
    this.failure = err;
    this.wake?.();
  };

  constructor(
    private readonly socket: Socket,
    /** Names the peer in error messages, e.g. `socks server 127.0.0.1:1080`. */
    private readonly peer: string,
  ) {
    socket.on('data', this.onData);
    socket.once('end', this.onEnd);
    socket.once('error', this.onError);
    socket.resume();
  }

  /** Waits until the parser has a whole reply, and takes its bytes. */
  async read<T>(what: string, parse: ReplyParser<T>): Promise<T> {
    for (;;) {
      const result = parse(this.buffered);
      if (result) {
        this.buffered = this.buffered.subarray(result.consumed);
        return result.value;
      }
      if (this.buffered.length > MAX_REPLY_BYTES) throw new TsocatError(`${this.peer}: ${what} longer than ${MAX_REPLY_BYTES} bytes`, 'EPROTO');
      if (this.failure) throw new TsocatError(`${this.peer}: reading ${what}: ${strerror(this.failure as SystemError)}`, (this.failure as SystemError).code ?? 'EPROTO');
      if (this.ended) throw new TsocatError(`${this.peer}: reading ${what}: end of file after ${this.buffered.length} bytes`, 'EPROTO');
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }

  /**
   * Stops reading and gives the socket back as a fresh one: paused, no consumer
   * yet, and whatever came after the reply put back in front of its data.
   */
  finish(): void {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('error', this.onError);
    this.socket.pause();
    if (this.buffered.length) this.socket.unshift(Buffer.from(this.buffered));
    (this.socket as { readableFlowing: boolean | null }).readableFlowing = null;
  }
}

/** Writes a request; a peer that is gone becomes one TsocatError. */
export function sendRequest(socket: Socket, bytes: Buffer | string, peer: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(bytes, (err) => (err ? reject(new TsocatError(`${peer}: write(): ${strerror(err as SystemError)}`, (err as SystemError).code ?? 'EPIPE')) : resolve()));
  });
}

/**
 * Connects to a proxy or SOCKS server (`peer` names it in errors) and runs
 * `talk` over the connection. connect-timeout bounds the connect and the
 * handshake together, so a server that accepts and never answers, or stops
 * mid-reply, cannot hold the client (socat 1.7.4 and 1.8 bound only the
 * connect). On any failure the socket is gone and one TsocatError remains;
 * on success the socket comes back fresh (HandshakeReader.finish()).
 */
export async function handshakeOver(
  req: AddressRequest,
  ctx: OpenContext,
  server: { host: string; port: string; peer: string },
  talk: (socket: Socket, reader: HandshakeReader) => Promise<void>,
): Promise<Socket> {
  const started = Date.now();
  const socket = await connectTcpSocket(req, ctx, server.host, server.port, 0);
  const reader = new HandshakeReader(socket, server.peer);
  const seconds = req.options.number('connect-timeout');
  const timeout = () => socket.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
  const timer = seconds ? setTimeout(timeout, Math.max(0, seconds * 1000 - (Date.now() - started))) : undefined;
  try {
    await talk(socket, reader);
    reader.finish();
    return socket;
  } catch (err) {
    socket.destroy();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
