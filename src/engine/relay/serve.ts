/**
 * Serving peers: a listener without fork hands over one peer; with fork,
 * serveForever accepts peers (from a listener or the connect loop) and runs
 * one session per peer, at most max-children at once; serveWithShared does
 * that with every peer relaying to the address 1 already open.
 */
import { getEventListeners } from 'node:events';
import { type Level, TsocatError } from '../../errors.js';
import { printDescriptorAnalysis } from '../../log/filan.js';
import { type Logger, monotonicMs } from '../../log/logger.js';
import type { OpenContext, RelaySettings } from '../context.js';
import type { Endpoint, Listener, Opened } from '../endpoint.js';
import { sleep } from '../abort.js';
import { type Slots, slotPool } from '../workers/slots.js';
import { restWatch } from './at-rest.js';
import { runHandedOver } from './handover.js';
import { runSession } from './session.js';
import { shareEndpoint } from './shared-endpoint.js';
import { Statistics } from './statistics.js';

function acceptWithTimeout(listener: Listener, seconds: number): Promise<Endpoint> {
  if (!seconds) return listener.accept();
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    listener.accept(),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TsocatError('accept: Connection timed out', 'ETIMEDOUT', { level: 'W', exitStatus: 0 })), seconds * 1000);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A listener used without fork serves exactly one peer, then stops listening. */
export async function single(opened: Opened, acceptTimeout = 0): Promise<Endpoint> {
  if (opened.kind === 'endpoint') return opened;
  let peer: Endpoint;
  try {
    peer = await acceptWithTimeout(opened, acceptTimeout);
  } finally {
    await opened.close();
  }
  await whenReady(peer);
  return peer;
}

/** Waits for an accepted peer to be usable (its TLS handshake); a peer that fails is closed. */
async function whenReady(peer: Endpoint): Promise<void> {
  try {
    await peer.ready;
  } catch (err) {
    await peer.close();
    throw err;
  }
}

/** The descriptors behind an endpoint: those it would hand a program, else those under its streams. */
function descriptorsOf(endpoint: Endpoint): { read?: number; write?: number } {
  const fdOf = (stream: unknown): number | undefined => {
    const s = stream as { fd?: unknown; _handle?: { fd?: unknown } } | undefined;
    const fd = typeof s?.fd === 'number' ? s.fd : s?._handle?.fd;
    return typeof fd === 'number' && fd >= 0 ? fd : undefined;
  };
  if (endpoint.handOver) return { read: endpoint.handOver.read, write: endpoint.handOver.write };
  return { read: fdOf(endpoint.readable), write: fdOf(endpoint.writable) };
}

/**
 * socat's SOCAT_TRANSFER_WAIT=<seconds> (its test suite sets it): a pause
 * before the transfer loop, so that data can queue up first (several packets
 * waiting at once, to show their boundaries are kept).
 */
async function transferWait(log: Logger, signal: AbortSignal): Promise<void> {
  const text = process.env.SOCAT_TRANSFER_WAIT;
  if (text === undefined) return;
  // atoi(): the leading digits, else 0
  const seconds = Number.parseInt(text, 10) || 0;
  log.log('I', `before starting data transfer loop: sleeping ${seconds}s (env:SOCAT_TRANSFER_WAIT)`);
  await sleep(seconds, signal);
}

/**
 * One pair's relay: a program that took address 1's descriptors over (nofork)
 * is waited for; otherwise -D's descriptor analysis, then the session.
 */
export async function runPair(left: Endpoint, right: Endpoint, how: { settings: RelaySettings; log: Logger; stats?: Statistics; signal: AbortSignal; windDown?: AbortSignal }): Promise<number> {
  if (right.handedOver) return runHandedOver(left, right, how.signal);
  // -D: socat analyses both addresses' descriptors just before the transfer loop
  if (how.settings.analyzeDescriptors) printDescriptorAnalysis([descriptorsOf(left), descriptorsOf(right)]);
  how.log.startRunning();
  await transferWait(how.log, how.signal);
  how.log.log('N', `starting data transfer loop with ${left.description} and ${right.description}`);
  return runSession(left, right, how);
}

/**
 * `fork` on address 2: address 1 is already open and every accepted peer
 * relays with it, as socat's children share the descriptor they inherit.
 */
export async function serveWithShared(
  left: Endpoint,
  listener: Listener,
  ctx: OpenContext,
  opts: ServeOptions,
): Promise<number> {
  const shared = shareEndpoint(left);
  try {
    return await serveForever(listener, async (peer) => [shared.view(), peer], ctx, opts);
  } finally {
    await shared.close();
  }
}

/** At -d -d -d -d: how many sessions run and how many listeners the relay's signal holds (one per running session, plus the relay's own). */
function logListeners(log: Logger, running: number, signal: AbortSignal): void {
  log.log('D', `${running} sessions running, ${getEventListeners(signal, 'abort').length} abort listeners on the relay's signal`);
}

/**
 * children-shutup: what socat's forked children log comes out `by` levels
 * lower (a notice as info, an error as a warning); below debug it is dropped.
 */
function quieter(log: Logger, by: number): Logger {
  if (by <= 0) return log;
  const LEVELS = ['D', 'I', 'N', 'W', 'E', 'F'] as const;
  const lowered = (level: Level): Level | undefined => LEVELS[LEVELS.indexOf(level) - by];
  return {
    ...log,
    enabled: (level) => {
      const l = lowered(level);
      return l !== undefined && log.enabled(l);
    },
    log: (level, message) => {
      const l = lowered(level);
      if (l !== undefined) log.log(l, message);
    },
  };
}

/** `session with TCP AF=2 127.0.0.1:40404 ended after 1.204 s: 6 bytes from it, 12 bytes to it`. */
function sessionEndLine(peer: Endpoint, peerIsLeft: boolean, counts: Statistics, ms: number): string {
  const fromPeer = counts.bytes(peerIsLeft);
  const toPeer = counts.bytes(!peerIsLeft);
  return `session with ${peer.description} ended after ${(ms / 1000).toFixed(3)} s: ${fromPeer} bytes from it, ${toPeer} bytes to it`;
}

/** How a fork relay serves its peers; `windDown` stops accepting and winds the running sessions down (-t). */
export interface ServeOptions {
  maxChildren: number;
  acceptTimeout: number;
  shutup: number;
  stats?: Statistics;
  windDown?: AbortSignal;
  /** Where max-children's slots come from when other processes share them (--workers); otherwise a pool of maxChildren here. */
  slots?: Slots;
}

/** The fork loop: accept, pair the peer with the other address, relay; at most maxChildren at once. */
export async function serveForever(
  listener: Listener,
  pairFor: (peer: Endpoint, childLog: Logger) => Promise<[Endpoint, Endpoint]>,
  ctx: OpenContext,
  opts: ServeOptions,
): Promise<number> {
  const { settings, signal } = ctx;
  const parentLog = ctx.log;
  // each peer's session logs as socat's child for it would
  const log = quieter(parentLog, opts.shutup);
  const sessions = new Set<Promise<void>>();
  const slots = opts.slots ?? (opts.maxChildren ? slotPool(opts.maxChildren) : undefined);
  let wake = () => {};
  const whenStopped = new Promise<false>((r) => {
    wake = () => r(false);
  });
  const stopAccepting = () => {
    void listener.close();
    wake();
  };
  signal.addEventListener('abort', stopAccepting, { once: true });
  opts.windDown?.addEventListener('abort', stopAccepting, { once: true });
  const stopped = () => signal.aborted || opts.windDown?.aborted === true;
  const rest = restWatch(() => sessions.size, parentLog);

  const serve = async (peer: Endpoint) => {
    let pair: [Endpoint, Endpoint];
    try {
      await whenReady(peer);
      pair = await pairFor(peer, log);
    } catch (err) {
      log.log('E', err instanceof TsocatError ? err.message : String(err));
      opts.stats?.countError('open');
      await peer.close();
      return;
    }
    // at -d -d each session's end is one line (socat's children log theirs); its counters cost nothing below that
    if (!log.enabled('N')) {
      await runPair(pair[0], pair[1], { settings, log, stats: opts.stats, signal, windDown: opts.windDown });
      return;
    }
    const started = monotonicMs();
    const own = opts.stats?.forSession() ?? new Statistics();
    try {
      await runPair(pair[0], pair[1], { settings, log, stats: own, signal, windDown: opts.windDown });
    } finally {
      log.log('N', sessionEndLine(peer, pair[0] === peer, own, monotonicMs() - started));
    }
  };

  if (parentLog.enabled('D')) logListeners(parentLog, 0, signal);
  try {
    while (!stopped()) {
      // max-children: a slot before accepting, so the peers beyond the limit wait in the kernel's backlog
      if (slots) {
        const got = slots.acquire().then(() => true);
        if (!(await Promise.race([got, whenStopped]))) {
          void got.then(() => slots.release());
          break;
        }
      }
      let peer: Endpoint;
      try {
        peer = await acceptWithTimeout(listener, opts.acceptTimeout);
      } catch (err) {
        slots?.release();
        throw err;
      }
      const s: Promise<void> = serve(peer).finally(() => {
        sessions.delete(s);
        slots?.release();
        if (sessions.size === 0) rest.idle();
        if (parentLog.enabled('D')) logListeners(parentLog, sessions.size, signal);
      });
      sessions.add(s);
      rest.busy();
      if (parentLog.enabled('D')) logListeners(parentLog, sessions.size, signal);
    }
  } catch (err) {
    if (!stopped()) throw err;
  } finally {
    rest.stop();
    await listener.close();
    await Promise.all(sessions);
  }
  return 0;
}
