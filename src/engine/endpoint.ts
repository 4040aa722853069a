import type { Readable, Writable } from 'node:stream';
import { type ChunkSource, readableSource } from './source.js';

/** socat's line ends for an address (cr / crnl options): part of what an endpoint tells the pump. */
export type LineTerm = 'raw' | 'cr' | 'crnl';

/**
 * An address's own descriptors, for a program that takes them over (EXEC's
 * nofork). Only offered while nothing has been read from them.
 */
export interface HandOver {
  read?: number;
  write?: number;
  /** Lets go of tsocat's copies once the program holds its own, without shutting anything down. */
  release(): void;
}

/** Relay-level settings of one address (socat's APPL group), applied by the pump. */
export interface ApplSettings {
  readBytes?: number;
  /** A byte that ends this address's input like end of file (socat's escape option). */
  escape?: number;
  readLineTerm: LineTerm;
  writeLineTerm: LineTerm;
  /** socat's ignoreeof: end of file on this address's input means "no data yet". */
  ignoreEof?: boolean;
  /** socat's cool-write: a peer that went away while we write (EPIPE, ECONNRESET) ends the relay quietly, not as an error. */
  coolWrite?: boolean;
}

/** How an address is opened: socat's read-write, read-only (-u left) or write-only (-u right). */
export type AccessMode = 'rw' | 'r' | 'w';

/** How a program behind a process address ended. */
export interface ChildExit {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * What every address plugin hands the pump. The pump never asks what kind of
 * address it holds; everything it needs is here.
 */
export interface Endpoint {
  kind: 'endpoint';
  /** Data coming from the address; absent when the address cannot be read (STDOUT, write-only files). */
  readable?: Readable;
  /**
   * How the pump reads, when not simply from `readable`: a socket or pipe read
   * into reused buffers (socket-source.ts). `readable` is then the same socket,
   * kept for closing it and for its errors; its 'data' events never fire.
   */
  source?: ChunkSource;
  /**
   * The descriptor `readable` reads from, when it stays open until close():
   * with ignoreeof, reading goes on from it after the stream has ended.
   */
  readFd?: number;
  /** Data going to the address; absent when it cannot be written. */
  writable?: Writable;
  /** True when each chunk is one message whose boundaries must be kept: one read is one message is one write (see source.ts). */
  datagram?: boolean;
  /**
   * The descriptor that carries the address's bytes unchanged, for moving them
   * in the kernel (relay/kernel/splice.ts): a plain stream socket offers it, and it
   * answers undefined once any of its bytes sit in JavaScript (something was
   * read into Node, a write is queued) or it is closed.
   */
  kernelFd?: () => number | undefined;
  /**
   * A connected datagram socket tsocat made, for relaying in batches
   * (relay/kernel/datagram-batch.ts): `fd()` its descriptor (undefined once closed);
   * `take()` stops Node reading it and hands over the datagrams already
   * received for this endpoint, to go out first.
   */
  datagramBatch?: { fd(): number | undefined; take(): Buffer[] };
  /** Tell the address no more data will come (shutdown(SHUT_WR), closing a pipe's write end). */
  shutdownWrite(): void;
  /** Release everything; safe to call twice. */
  close(): Promise<void>;
  /**
   * Told when its session starts ending (one side is done; the close wait
   * runs): what the endpoint holds may then be waited for by the next session
   * of the relay (src/engine/held.ts).
   */
  ending?(): void;
  /** For process addresses: settles when the program has ended. */
  exited?: Promise<ChildExit>;
  /** Filled in by the engine from the address's options. */
  appl?: ApplSettings;
  /**
   * What socat exports about an accepted connection for programs started
   * for it, without the prefix: SOCKADDR, SOCKPORT, PEERADDR, PEERPORT.
   */
  connectionInfo?: Record<string, string>;
  /**
   * Settles when the endpoint can be used: a TLS server's handshake with an
   * accepted peer, done per session so a slow or refused peer holds up no one
   * else. Rejects with the reason; the engine awaits it before opening the
   * other address, which may need what it filled in (connectionInfo).
   */
  ready?: Promise<void>;
  /** A short human description for log lines, e.g. `TCP 127.0.0.1:4545`. */
  description: string;
  /** The descriptors a program may take over (nofork); absent where there are none (PIPE, TEXT, dual addresses). */
  handOver?: HandOver;
  /**
   * Set on a program that took over the other address's descriptors: nothing
   * is relayed, the relay waits for `exited` and ends with the program's status.
   */
  handedOver?: boolean;
}

/** A listening address: hands out one endpoint per accepted peer. */
export interface Listener {
  kind: 'listener';
  /** Waits for the next peer. Rejects with TsocatError when the listener fails or is closed. */
  accept(): Promise<Endpoint>;
  close(): Promise<void>;
  description: string;
  /** The listening socket's descriptor, for --workers to hand to its worker processes (listeners whose plugin has `workers`). */
  listeningFd?: number;
}

export type Opened = Endpoint | Listener;

/** Builds an Endpoint from parts, filling in safe defaults. */
export function makeEndpoint(parts: Omit<Endpoint, 'kind' | 'shutdownWrite' | 'close'> & Partial<Pick<Endpoint, 'shutdownWrite' | 'close'>>): Endpoint {
  const { readable, writable } = parts;
  let closed = false;
  return {
    kind: 'endpoint',
    ...parts,
    shutdownWrite: parts.shutdownWrite ?? (() => writable?.end()),
    close:
      parts.close ??
      (async () => {
        if (closed) return;
        closed = true;
        readable?.destroy();
        if (writable && writable !== (readable as unknown)) writable.destroy();
      }),
  };
}

/** True when the pump can read from the endpoint. */
export function readsFrom(ep: Endpoint): boolean {
  return ep.source !== undefined || ep.readable !== undefined;
}

/**
 * The descriptor an endpoint reads from, as socat's log lines name it
 * ("socket 1 (fd 5) is at EOF"); -1 when it has none of its own (an
 * in-memory address, a TLS stream).
 */
export function readDescriptorOf(ep: Endpoint): number {
  if (ep.readFd !== undefined) return ep.readFd;
  // a Node socket keeps it on its libuv handle, a file stream as its fd
  const r = ep.readable as unknown as { fd?: unknown; _handle?: { fd?: unknown } | null } | undefined;
  const fd = typeof r?.fd === 'number' ? r.fd : r?._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

/** The endpoint's source: its own, or one over its Readable. */
export function sourceOf(ep: Endpoint): ChunkSource | undefined {
  if (ep.source) return ep.source;
  return ep.readable ? readableSource(ep.readable) : undefined;
}
