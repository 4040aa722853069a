/**
 * An accept loop over a listening socket made through the descriptor layer
 * (src/sys/sockets.ts): TCP-LISTEN, UNIX-LISTEN and generic SOCKET-LISTEN.
 * The event loop says when a connection waits (src/sys/poll.ts); accept4()
 * takes it only when the relay asks for the next peer, so max-children
 * leaves the rest in the kernel's backlog as socat's does; the caller turns
 * the new descriptor into an endpoint, or refuses it.
 *
 * Near the descriptor limit the loop pauses too, with one warning per
 * episode, rather than accept a peer it could not serve (Node's own servers
 * accept and close at once on EMFILE, silently). It looks again when an
 * accepted peer closes, and every RECHECK_MS, until descriptors are free.
 */
import { TsocatError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { descriptorUse } from '../../sys/limits.js';
import { DescriptorWatch, UV_READABLE } from '../../sys/poll.js';
import { acceptSocket, closeDescriptor } from '../../sys/sockets.js';
import type { Endpoint, Listener } from '../endpoint.js';

/** onAccept's answer when it refused the peer and has disposed of the descriptor itself. */
export const DISPOSED = 'disposed';

export interface RawListenerOptions {
  description: string;
  /** The accepted descriptor and the peer's address as an endpoint; undefined refuses the peer (the descriptor is closed). */
  onAccept: (fd: number, peer: Buffer) => Promise<Endpoint | undefined | typeof DISPOSED>;
  /** Called once the listening descriptor is closed (unlink a socket file, …). */
  onClose?: () => void | Promise<void>;
  /** Where the pause near the descriptor limit is told. */
  log?: Pick<Logger, 'log'>;
  /** The listening socket may be shared with --workers processes: the listener shows its descriptor (listeningFd). */
  shareable?: boolean;
}

/** Connections accepted but not yet asked for; beyond this the kernel's backlog holds them. */
const QUEUE_MAX = 16;
/** Descriptors kept free for the sessions already accepted: a peer is accepted only with more than this left (its session opens the other address too). */
export const DESCRIPTOR_RESERVE = 12;
/** While paused for descriptors, how often to look whether some were freed. */
const RECHECK_MS = 100;
/** Descriptors a session may open besides its peer; the table is counted again when the guess comes near the reserve. */
const PER_SESSION_GUESS = 4;

/** Whether one more peer fits, counting /proc/self/fd only when the guess since the last count comes near the reserve. */
function descriptorRoom(): {
  fits: () => boolean;
  accepted: () => void;
  use: () => { open: number; limit: number } | undefined;
  count: () => { open: number; limit: number } | undefined;
} {
  let room = 0;
  let last: { open: number; limit: number } | undefined;
  /** Counts the table now (unknown: unlimited room). */
  const count = () => {
    last = descriptorUse();
    room = last ? last.limit - last.open : Number.POSITIVE_INFINITY;
    return last;
  };
  return {
    fits() {
      if (room > DESCRIPTOR_RESERVE * 2) return true;
      count();
      return room > DESCRIPTOR_RESERVE;
    },
    accepted() {
      room -= PER_SESSION_GUESS;
    },
    use: () => last,
    count,
  };
}

const OUT_OF_DESCRIPTORS = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);

/** A listener that can be told when descriptors were freed (an accepted peer closed), to look again at once if it paused for them. */
export type RawListener = Listener & { descriptorsFreed(): void };

export function rawListener(fd: number, opts: RawListenerOptions): RawListener {
  const accepted: Array<{ fd: number; peer: Buffer }> = [];
  const waiters: Array<{ resolve: (c: { fd: number; peer: Buffer }) => void; reject: (e: Error) => void }> = [];
  const room = descriptorRoom();
  let failure: Error | undefined;
  let closed: Promise<void> | undefined;
  let paused = false;
  let recheck: NodeJS.Timeout | undefined;

  /** Stops accepting until descriptors are free again; the first pause of an episode says so. */
  const pause = (why?: string) => {
    if (!paused) {
      paused = true;
      // counted now: the last count may be from many peers ago (accept4 failing with EMFILE pauses while the guess said there was room)
      const use = room.count();
      const count = use ? `${use.open} of ${use.limit} descriptors open` : (why ?? 'out of descriptors');
      opts.log?.log('W', `${opts.description}: not accepting: ${count} (RLIMIT_NOFILE ${use?.limit ?? '?'}, ${DESCRIPTOR_RESERVE} kept free); peers wait in the backlog`);
    }
    if (!recheck) lookAgain(RECHECK_MS);
  };
  const lookAgain = (ms: number) => {
    clearTimeout(recheck);
    recheck = setTimeout(() => {
      recheck = undefined;
      wantNow();
    }, ms);
  };

  const resumed = () => {
    if (!paused) return;
    paused = false;
    const use = room.use();
    opts.log?.log('N', `${opts.description}: accepting again${use ? ` (${use.open} of ${use.limit} descriptors open)` : ''}`);
  };

  const hasRoom = (): boolean => {
    if (room.fits()) {
      resumed();
      return true;
    }
    pause();
    return false;
  };

  const watch = new DescriptorWatch(fd, () => {
    let took = 0;
    try {
      while (accepted.length < QUEUE_MAX && waiters.length > 0 && hasRoom()) {
        const c = acceptSocket(fd);
        if (!c) break;
        took++;
        room.accepted();
        const waiter = waiters.shift();
        if (waiter) waiter.resolve(c);
        else accepted.push(c);
      }
    } catch (err) {
      const code = (err as TsocatError).code;
      if (OUT_OF_DESCRIPTORS.has(code)) pause((err as Error).message);
      else {
        failure = err as Error;
        for (const w of waiters.splice(0)) w.reject(failure);
      }
    }
    // a peer was handed out, and a forking relay asks for the next one at once: the watch stays on rather
    // than stop and start again (two calls into libuv per peer); a readiness with no one waiting stops it
    if (took > 0 && !paused && !failure && !closed && recheck === undefined) return;
    wantNow();
  });
  const wantNow = () => watch.want(waiters.length > 0 && !failure && !closed && recheck === undefined && hasRoom() ? UV_READABLE : 0);

  const next = () =>
    new Promise<{ fd: number; peer: Buffer }>((resolve, reject) => {
      if (failure) return reject(failure);
      const c = accepted.shift();
      if (c) return resolve(c);
      waiters.push({ resolve, reject });
      wantNow();
    });

  return {
    kind: 'listener',
    description: opts.description,
    listeningFd: opts.shareable ? fd : undefined,
    async accept(): Promise<Endpoint> {
      for (;;) {
        const c = await next();
        let endpoint: Endpoint | undefined | typeof DISPOSED;
        try {
          endpoint = await opts.onAccept(c.fd, c.peer);
        } catch (err) {
          closeDescriptor(c.fd);
          throw err;
        }
        if (endpoint === DISPOSED) continue;
        if (endpoint) return endpoint;
        closeDescriptor(c.fd);
      }
    },
    descriptorsFreed() {
      if (paused && !closed) lookAgain(0);
    },
    close() {
      closed ??= (async () => {
        failure ??= new TsocatError('listener closed', 'ECLOSED');
        clearTimeout(recheck);
        for (const w of waiters.splice(0)) w.reject(failure);
        for (const c of accepted.splice(0)) closeDescriptor(c.fd);
        await watch.close();
        closeDescriptor(fd);
        await opts.onClose?.();
      })();
      return closed;
    },
  };
}
