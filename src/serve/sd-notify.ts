/**
 * systemd's readiness protocol (sd_notify(3)): one datagram per state change to
 * the UNIX datagram socket named by NOTIFY_SOCKET (a path, or `@name` in the
 * abstract namespace). Node has no UNIX datagram sockets; the descriptor layer
 * (src/sys/sockets.ts, libc through koffi) that UNIX-SENDTO uses sends it.
 */
import { unixSockaddr } from '../engine/sockets/sockaddr.js';
import { AF_UNIX, closeDescriptor, openSocket, SOCK_DGRAM, sendOn } from '../sys/sockets.js';
import type { Logger } from '../log/logger.js';

export interface Notifier {
  /** Sends `READY=1`, `RELOADING=1`… (lines joined by newlines); nothing when the service manager asked for none. */
  send(...assignments: string[]): void;
}

/** CLOCK_MONOTONIC in microseconds, which systemd wants beside RELOADING=1 (libuv's hrtime reads that clock). */
export function monotonicMicros(): string {
  return String(process.hrtime.bigint() / 1000n);
}

/** Notes for the service manager listening at `socketName` (NOTIFY_SOCKET's value); none when it is unset. */
export function notifier(log: Logger, socketName: string | undefined): Notifier {
  if (!socketName) return { send: () => {} };
  const abstract = socketName.startsWith('@');
  const addr = unixSockaddr(abstract ? socketName.slice(1) : socketName, abstract);
  return {
    send(...assignments) {
      const message = Buffer.from(assignments.join('\n'));
      let fd: number | undefined;
      try {
        fd = openSocket(AF_UNIX, SOCK_DGRAM, 0);
        // a datagram socket never waits; a full queue (a stuck manager) drops the note rather than the relays
        if (sendOn(fd, message, addr) === undefined) log.log('W', `sd_notify: "${socketName}" is full; "${assignments[0]}" not sent`);
        else log.log('D', `sd_notify: ${assignments.join(' ')}`);
      } catch (err) {
        log.log('W', `sd_notify: ${(err as Error).message}`);
      } finally {
        if (fd !== undefined) closeDescriptor(fd);
      }
    },
  };
}
