/**
 * A WebSocket as an Endpoint. Each message received is one chunk for the
 * pump; each chunk written is one message sent, text or binary as the
 * framing says. Half-close as RFC 6455 §5.5.1 allows it: shutting down the
 * write side sends a close frame; the peer's close frame ends the read side,
 * and our answering close frame waits until our write side is done, so what
 * the relay still has for the peer (a program's last output) reaches it.
 */
import { isUtf8 } from 'node:buffer';
import type { Duplex } from 'node:stream';
import { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { WebSocket } from 'ws';
import { TsocatError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { type AccessMode, type Endpoint, makeEndpoint } from '../endpoint.js';
import type { Framing, WsSettings } from './ws-settings.js';

/** How long a close handshake may take before the connection is simply dropped. */
const CLOSE_WAIT_MS = 2000;
/** WebSocket's "normal closure" status code (RFC 6455 §7.4.1). */
const NORMAL_CLOSURE = 1000;

/** Turns written chunks into messages: what to send and whether it is binary; undefined while a cut character waits for its rest. */
function framer(framing: Framing): { frame(chunk: Buffer): [Buffer | string, boolean] | undefined; rest(): string } {
  if (framing === 'binary') return { frame: (chunk) => [chunk, true], rest: () => '' };
  if (framing === 'auto') return { frame: (chunk) => [chunk, !isUtf8(chunk)], rest: () => '' };
  const decoder = new StringDecoder('utf8');
  return {
    frame: (chunk) => {
      const text = decoder.write(chunk);
      return text === '' ? undefined : [text, false];
    },
    rest: () => decoder.end(),
  };
}

/**
 * ws answers a peer's close frame at once, which would cut off what we still
 * have to send. Its receiver's 'conclude' handler (ws 8: the one listener, which
 * records the close and calls close()) runs as usual, but its close() call is
 * kept for later when `peerEnded` says our write side is still open; `hold` gets
 * the call to make when it is done. Without that one listener (another ws), the
 * answer goes at once, as ws does it.
 */
function holdCloseAnswer(ws: WebSocket, peerEnded: () => boolean, hold: (answer: () => void) => void): void {
  const receiver = (ws as unknown as { _receiver?: import('node:events').EventEmitter | null })._receiver;
  if (receiver?.listenerCount('conclude') !== 1) return;
  const conclude = receiver.listeners('conclude')[0] as (this: unknown, code: number, reason: Buffer) => void;
  receiver.removeListener('conclude', conclude);
  receiver.on('conclude', function (this: unknown, code: number, reason: Buffer) {
    const wantsToWrite = peerEnded();
    const close = ws.close;
    let held: (() => void) | undefined;
    if (wantsToWrite) ws.close = (...args: Parameters<WebSocket['close']>) => void (held = () => close.apply(ws, args));
    try {
      conclude.call(this, code, reason);
    } finally {
      ws.close = close;
    }
    if (held) hold(held);
  });
}

export interface PendingWebSocket {
  endpoint: Endpoint;
  /** Gives the endpoint its WebSocket once the opening handshake is done. */
  attach(ws: WebSocket): void;
}

/**
 * The endpoint at once (a listener hands it out before the upgrade is done; the
 * engine awaits `ready` before using it), the WebSocket when `attach` brings it.
 * `connection` is what lies beneath: closed by close() if no WebSocket came.
 */
export function websocketEndpoint(opts: { description: string; mode: AccessMode; settings: WsSettings; log: Logger; connection: Duplex }): PendingWebSocket {
  const { settings, log } = opts;
  let ws: WebSocket | undefined;
  let keepalive: NodeJS.Timeout | undefined;
  /** The close frame that answers the peer's, held while our write side still has data for it. */
  let answerClose: (() => void) | undefined;
  const framing = framer(settings.framing);
  const readable = new Readable({ read: () => ws?.resume() });
  const writable = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (ws?.readyState !== 1) return done(new TsocatError('WebSocket send: the connection is closed', 'EPIPE'));
      const message = framing.frame(chunk);
      if (!message) return done();
      ws.send(message[0], { binary: message[1] }, (err) => done(err ? new TsocatError(`WebSocket send: ${err.message}`, 'EPIPE') : undefined));
    },
    final(done) {
      const rest = framing.rest();
      if (ws?.readyState === 1) {
        if (rest) ws.send(rest, { binary: false });
        if (answerClose) answerClose();
        else ws.close(NORMAL_CLOSURE);
      }
      done();
    },
  });
  // the side the relay does not use still needs someone to hear its errors
  const failWith = (err: Error) => (opts.mode === 'w' ? writable : readable).destroy(err);

  const startKeepalive = (socket: WebSocket, seconds: number) => {
    let waiting = false;
    socket.on('pong', () => {
      waiting = false;
    });
    keepalive = setInterval(() => {
      if (waiting) {
        failWith(new TsocatError(`WebSocket peer answered no ping within ${seconds} s (ws-ping)`, 'EWSPING'));
        socket.terminate();
        return;
      }
      waiting = true;
      if (log.enabled('D')) log.log('D', `WebSocket ping to ${opts.description}`);
      socket.ping();
    }, seconds * 1000);
  };

  const endpoint = makeEndpoint({
    readable: opts.mode === 'w' ? undefined : readable,
    writable: opts.mode === 'r' ? undefined : writable,
    description: opts.description,
    shutdownWrite: () => {
      if (!writable.writableEnded && !writable.destroyed) writable.end();
    },
    close: async () => {
      clearInterval(keepalive);
      const socket = ws;
      if (!socket) {
        opts.connection.destroy();
        return;
      }
      if (socket.readyState === 3) return;
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        if (answerClose) answerClose();
        else if (socket.readyState === 1) socket.close(NORMAL_CLOSURE);
        setTimeout(() => socket.terminate(), CLOSE_WAIT_MS).unref();
      });
      readable.destroy();
      writable.destroy();
    },
  });

  return {
    endpoint,
    attach(socket) {
      ws = socket;
      socket.on('message', (data: Buffer) => {
        if (opts.mode === 'w' || readable.destroyed) return;
        if (!readable.push(data)) socket.pause();
      });
      socket.on('error', (err) => failWith(new TsocatError(`WebSocket: ${err.message}`, 'EWEBSOCKET')));
      socket.on('close', () => {
        clearInterval(keepalive);
        if (!readable.destroyed) readable.push(null);
      });
      holdCloseAnswer(socket, () => {
        // a peer that has said goodbye owes no more pongs
        clearInterval(keepalive);
        if (!readable.destroyed) readable.push(null);
        return opts.mode !== 'r' && !writable.writableFinished && !writable.destroyed;
      }, (answer) => {
        answerClose = answer;
      });
      if (settings.pingSeconds) startKeepalive(socket, settings.pingSeconds);
    },
  };
}
