/**
 * An accept loop over a listening socket made through the descriptor layer
 * (src/sys/sockets.ts), for the listeners Node cannot make: generic
 * SOCKET-LISTEN with any domain and protocol. The event loop says when a
 * connection waits (src/sys/poll.ts); accept4() takes it; the caller turns
 * the new descriptor into an endpoint, or refuses it.
 */
import { TsocatError } from '../../errors.js';
import { DescriptorWatch, UV_READABLE } from '../../sys/poll.js';
import { acceptSocket, closeDescriptor } from '../../sys/sockets.js';
import type { Endpoint, Listener } from '../endpoint.js';

export interface RawListenerOptions {
  description: string;
  /** The accepted descriptor and the peer's address as an endpoint; undefined refuses the peer (the descriptor is closed). */
  onAccept: (fd: number, peer: Buffer) => Promise<Endpoint | undefined>;
  /** Called once the listening descriptor is closed (unlink a socket file, …). */
  onClose?: () => void | Promise<void>;
}

/** Connections accepted but not yet asked for; beyond this the kernel's backlog holds them. */
const QUEUE_MAX = 16;

export function rawListener(fd: number, opts: RawListenerOptions): Listener {
  const accepted: Array<{ fd: number; peer: Buffer }> = [];
  const waiters: Array<{ resolve: (c: { fd: number; peer: Buffer }) => void; reject: (e: Error) => void }> = [];
  let failure: Error | undefined;
  let closed: Promise<void> | undefined;

  const watch = new DescriptorWatch(fd, () => {
    try {
      while (accepted.length < QUEUE_MAX) {
        const c = acceptSocket(fd);
        if (!c) break;
        const waiter = waiters.shift();
        if (waiter) waiter.resolve(c);
        else accepted.push(c);
        if (waiters.length === 0) break;
      }
    } catch (err) {
      failure = err as Error;
      for (const w of waiters.splice(0)) w.reject(failure);
    }
    wantNow();
  });
  const wantNow = () => watch.want(waiters.length > 0 && !failure && !closed ? UV_READABLE : 0);

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
    async accept(): Promise<Endpoint> {
      for (;;) {
        const c = await next();
        let endpoint: Endpoint | undefined;
        try {
          endpoint = await opts.onAccept(c.fd, c.peer);
        } catch (err) {
          closeDescriptor(c.fd);
          throw err;
        }
        if (endpoint) return endpoint;
        closeDescriptor(c.fd);
      }
    },
    close() {
      closed ??= (async () => {
        failure ??= new TsocatError('listener closed', 'ECLOSED');
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
