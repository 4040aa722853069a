/**
 * The whole relay: open address 1, then address 2 (socat's order), run one
 * session; or, when address 1 listens with `fork`, one session per accepted
 * peer, each with a freshly opened address 2; or, when address 2 listens with
 * `fork`, one session per peer, all sharing the address 1 already open.
 */
import { getEventListeners, setMaxListeners } from 'node:events';
import { type Level, TsocatError } from '../../errors.js';
import { parseAddress } from '../../grammar/parse.js';
import type { AddressSpec } from '../../grammar/spec.js';
import { printDescriptorAnalysis } from '../../log/filan.js';
import { createLogger, DEFAULT_LOG_CONFIG, type Logger } from '../../log/logger.js';
import { onAbort } from '../abort.js';
import { connectLoop } from './connect-loop.js';
import { DEFAULT_SETTINGS, type OpenContext, type RelaySettings } from '../context.js';
import type { AccessMode, Endpoint, Listener, Opened } from '../endpoint.js';
import { runHandedOver } from './handover.js';
import { openAddress, prepareAddress, validateAddress } from '../opening/open.js';
import { runSession } from './session.js';
import { shareEndpoint } from './shared-endpoint.js';
import { Statistics } from './statistics.js';

export interface RelayOptions {
  settings?: Partial<RelaySettings>;
  log?: Logger;
  /** Abort to stop the relay: listeners close, sessions end, children are stopped. */
  signal?: AbortSignal;
  /** Shared counters for --statistics / SIGUSR1. */
  stats?: Statistics;
}

function modes(direction: RelaySettings['direction']): [AccessMode, AccessMode] {
  if (direction === 'left-to-right') return ['r', 'w'];
  if (direction === 'right-to-left') return ['w', 'r'];
  return ['rw', 'rw'];
}

function toSpec(address: string | AddressSpec): AddressSpec {
  return typeof address === 'string' ? parseAddress(address) : address;
}

/** Reads fork, max-children, accept-timeout and interval from an address when it is a single address. */
async function listenerOptions(spec: AddressSpec, mode: AccessMode, ctx: Pick<OpenContext, 'settings'>) {
  if (spec.kind !== 'single') return { fork: false, maxChildren: 0, acceptTimeout: 0, interval: 1, shutup: 0 };
  const { request } = await prepareAddress(spec, mode, ctx);
  const fork = request.options.bool('fork');
  const maxChildren = request.options.number('max-children') ?? 0;
  if (maxChildren && !fork) throw new TsocatError('option max-children not allowed without option fork', 'EUSAGE');
  return {
    fork,
    maxChildren,
    acceptTimeout: request.options.number('accept-timeout') ?? 0,
    interval: request.options.number('interval') ?? 1,
    shutup: request.options.number('children-shutup') ?? 0,
  };
}

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
async function single(opened: Opened, acceptTimeout = 0): Promise<Endpoint> {
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

/**
 * Runs a relay between two addresses and resolves with socat's exit status.
 * User errors reject with TsocatError; the CLI turns those into a log line.
 */
export async function relay(address1: string | AddressSpec, address2: string | AddressSpec, options: RelayOptions = {}): Promise<number> {
  const settings: RelaySettings = { ...DEFAULT_SETTINGS, ...options.settings };
  const log = options.log ?? createLogger(DEFAULT_LOG_CONFIG);
  const controller = new AbortController();
  // Each running session (and retry pause, FIFO open) listens here and takes its listener off when it ends,
  // so the count follows the sessions running at once, which a forking listener does not bound: no limit, no warning.
  setMaxListeners(0, controller.signal);
  const stopFollowing = onAbort(options.signal, () => controller.abort());
  const ctx: OpenContext = { settings, log, perPeer: false, signal: controller.signal };
  try {
    return await relayWith(address1, address2, ctx, controller, options.stats ?? (settings.statistics ? new Statistics() : undefined));
  } finally {
    stopFollowing();
  }
}

async function relayWith(
  address1: string | AddressSpec,
  address2: string | AddressSpec,
  ctx: OpenContext,
  controller: AbortController,
  stats: Statistics | undefined,
): Promise<number> {
  const { settings, log } = ctx;

  const spec1 = toSpec(address1);
  const spec2 = toSpec(address2);
  const [mode1, mode2] = modes(settings.direction);
  // Refuse bad input in either address before anything opens.
  await validateAddress(spec1, mode1, ctx);
  await validateAddress(spec2, mode2, ctx);
  const { fork, maxChildren, acceptTimeout, interval, shutup } = await listenerOptions(spec1, mode1, ctx);

  const first = await openAddress(spec1, mode1, ctx);
  if (fork) {
    const pairFor = async (peer: Endpoint, childLog: Logger): Promise<[Endpoint, Endpoint]> => [
      peer,
      await single(await openAddress(spec2, mode2, { ...ctx, log: childLog, perPeer: true, connectionInfo: peer.connectionInfo, firstAddress: peer })),
    ];
    // a listener hands out accepted peers; an address that connects hands out one connection after another
    const reconnect = async () => single(await openAddress(spec1, mode1, ctx));
    const peers = first.kind === 'listener' ? first : connectLoop(first, reconnect, interval, controller.signal);
    return serveForever(peers, pairFor, ctx, { maxChildren, acceptTimeout, shutup, stats });
  }
  const left = await single(first, acceptTimeout);
  let right: Endpoint;
  try {
    const second = await openAddress(spec2, mode2, { ...ctx, connectionInfo: left.connectionInfo, firstAddress: left });
    const forkOn2 = await listenerOptions(spec2, mode2, ctx);
    if (second.kind === 'listener' && forkOn2.fork) return await serveWithShared(left, second, ctx, { ...forkOn2, stats });
    right = await single(second, forkOn2.acceptTimeout);
  } catch (err) {
    await left.close();
    throw err;
  }
  if (right.handedOver) return runHandedOver(left, right, controller.signal);
  if (settings.analyzeDescriptors) analyzeDescriptors(left, right);
  log.startRunning();
  log.log('N', `starting data transfer loop with ${left.description} and ${right.description}`);
  const status = await runSession(left, right, { settings, log, stats, signal: controller.signal });
  return status;
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

/** -D: socat analyses both addresses' descriptors just before the transfer loop. */
function analyzeDescriptors(left: Endpoint, right: Endpoint): void {
  printDescriptorAnalysis([descriptorsOf(left), descriptorsOf(right)]);
}

/**
 * `fork` on address 2: address 1 is already open and every accepted peer
 * relays with it, as socat's children share the descriptor they inherit.
 */
async function serveWithShared(
  left: Endpoint,
  listener: Listener,
  ctx: OpenContext,
  opts: { maxChildren: number; acceptTimeout: number; shutup: number; stats?: Statistics },
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

/** The fork loop: accept, pair the peer with the other address, relay; at most maxChildren at once. */
async function serveForever(
  listener: Listener,
  pairFor: (peer: Endpoint, childLog: Logger) => Promise<[Endpoint, Endpoint]>,
  ctx: OpenContext,
  opts: { maxChildren: number; acceptTimeout: number; shutup: number; stats?: Statistics },
): Promise<number> {
  const { settings, signal } = ctx;
  const parentLog = ctx.log;
  // each peer's session logs as socat's child for it would
  const log = quieter(parentLog, opts.shutup);
  const sessions = new Set<Promise<void>>();
  let slotFreed: (() => void) | undefined;
  signal.addEventListener('abort', () => void listener.close(), { once: true });

  const serve = async (peer: Endpoint) => {
    let pair: [Endpoint, Endpoint];
    try {
      await whenReady(peer);
      pair = await pairFor(peer, log);
    } catch (err) {
      log.log('E', err instanceof TsocatError ? err.message : String(err));
      await peer.close();
      return;
    }
    if (pair[1].handedOver) {
      await runHandedOver(pair[0], pair[1], signal);
      return;
    }
    if (settings.analyzeDescriptors) analyzeDescriptors(pair[0], pair[1]);
    log.startRunning();
    log.log('N', `starting data transfer loop with ${pair[0].description} and ${pair[1].description}`);
    await runSession(pair[0], pair[1], { settings, log, stats: opts.stats, signal });
  };

  if (parentLog.enabled('D')) logListeners(parentLog, 0, signal);
  try {
    while (!signal.aborted) {
      while (opts.maxChildren && sessions.size >= opts.maxChildren) {
        await new Promise<void>((r) => {
          slotFreed = r;
        });
      }
      const peer = await acceptWithTimeout(listener, opts.acceptTimeout);
      const s: Promise<void> = serve(peer).finally(() => {
        sessions.delete(s);
        slotFreed?.();
        slotFreed = undefined;
        if (parentLog.enabled('D')) logListeners(parentLog, sessions.size, signal);
      });
      sessions.add(s);
      if (parentLog.enabled('D')) logListeners(parentLog, sessions.size, signal);
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    await listener.close();
    await Promise.all(sessions);
  }
  return 0;
}
