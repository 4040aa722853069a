/**
 * The whole relay, in socat's order: validate both addresses, open address 1,
 * then address 2, run one session. When address 1 listens (or connects) with
 * `fork`, or address 2 listens with `fork`, the peers are served by serve.ts;
 * each address is opened by one pass through src/engine/opening/open.ts.
 */
import { setMaxListeners } from 'node:events';
import { TsocatError } from '../../errors.js';
import type { ResolvedOptions } from '../../../options/catalog.js';
import { parseAddress } from '../../grammar/parse.js';
import type { AddressSpec } from '../../grammar/spec.js';
import { createLogger, DEFAULT_LOG_CONFIG, type Logger } from '../../log/logger.js';
import { onAbort } from '../abort.js';
import { DEFAULT_SETTINGS, type OpenContext, type Registry, type RelaySettings } from '../context.js';
import type { AccessMode, Endpoint, Listener, Opened } from '../endpoint.js';
import { openAddress, prepareAddress, validateAddress } from '../opening/open.js';
import type { WorkersPlan } from '../workers/plan.js';
import type { Slots } from '../workers/slots.js';
import { refuseWorkers, serveAsTeam } from '../workers/serve-team.js';
import { type BrokerOptions, DEFAULT_BROKER_BUFFER, type SlowPolicy, serveBroker } from './broker/broker.js';
import { connectLoop } from './connect-loop.js';
import { runPair, serveForever, serveWithShared, single } from './serve.js';
import { Statistics } from './statistics.js';

export interface RelayOptions {
  settings?: Partial<RelaySettings>;
  log?: Logger;
  /** Abort to stop the relay: listeners close, sessions end, children are stopped. */
  signal?: AbortSignal;
  /** Shared counters for --statistics / SIGUSR1. */
  stats?: Statistics;
  /**
   * Abort to stop the relay gently (a service reload removed it): a listener
   * closes at once, and each running session ends as after one side's end of
   * file, within -t seconds; an address still opening is abandoned.
   */
  windDown?: AbortSignal;
  /** Called once address 1 is open (a listener listens, a client is connected): a service counts the relay as up. */
  onOpened?: () => void;
  /** Called before address 1 opens, with whether it forks (a session per peer); what it throws refuses the relay (--progress is for one session). */
  onForm?: (form: { fork: boolean }) => void;
  /** --workers: this process's part in a team of processes sharing address 1's listening socket (src/engine/workers/). */
  workers?: WorkersPlan;
}

/** What the engine's relay needs besides: the address registry, which the caller loads (src/index.ts, src/cli.ts). */
export interface EngineRelayOptions extends RelayOptions {
  registry: Registry;
}

function modes(direction: RelaySettings['direction']): [AccessMode, AccessMode] {
  if (direction === 'left-to-right') return ['r', 'w'];
  if (direction === 'right-to-left') return ['w', 'r'];
  return ['rw', 'rw'];
}

function toSpec(address: string | AddressSpec): AddressSpec {
  return typeof address === 'string' ? parseAddress(address) : address;
}

/** broker, chat, broker-buffer and broker-slow (broker.ts); undefined without broker. */
function brokerOptions(o: ResolvedOptions, fork: boolean, direction: RelaySettings['direction']): Omit<BrokerOptions, 'maxChildren'> | undefined {
  const broker = o.bool('broker');
  for (const name of ['chat', 'broker-buffer', 'broker-slow']) {
    if (o.has(name) && !broker) throw new TsocatError(`option ${name} not allowed without option broker`, 'EUSAGE');
  }
  if (!broker) return undefined;
  if (!fork) throw new TsocatError('option broker not allowed without option fork', 'EUSAGE');
  if (direction !== 'both') throw new TsocatError('option broker not allowed with -u or -U: a broker relays every way', 'EUSAGE');
  for (const name of NOT_WITH_BROKER) if (o.has(name)) throw new TsocatError(`option broker not allowed with option ${name}`, 'EUSAGE');
  return {
    chat: o.bool('chat'),
    bound: o.number('broker-buffer') ?? DEFAULT_BROKER_BUFFER,
    slow: (o.string('broker-slow') ?? 'disconnect') as SlowPolicy,
  };
}

/** What the pump does per session and a broker does not: refused with broker rather than ignored. */
const NOT_WITH_BROKER = ['ignoreeof', 'cr', 'crnl', 'readbytes', 'escape', 'cool-write'];

/** Refuses the flags and the other address's options a broker cannot honour. */
async function refuseBrokerConflicts(other: AddressSpec, mode: AccessMode, ctx: Pick<OpenContext, 'settings' | 'registry'>): Promise<void> {
  const s = ctx.settings;
  const flags: Array<[boolean, string]> = [
    [s.inactivityTimeout > 0, '-T'],
    [s.verbose, '-v'],
    [s.hexDump, '-x'],
    [s.rawLeftToRight !== undefined, '-r'],
    [s.rawRightToLeft !== undefined, '-R'],
    [s.blockSizeGiven, '-b'],
    [s.statistics, '--statistics'],
    [s.analyzeDescriptors, '-D'],
  ];
  for (const [given, flag] of flags) if (given) throw new TsocatError(`option broker not allowed with ${flag}`, 'EUSAGE');
  if (other.kind !== 'single') return;
  const { request } = await prepareAddress(other, mode, ctx);
  for (const name of NOT_WITH_BROKER) if (request.options.has(name)) throw new TsocatError(`option broker not allowed with option ${name}`, 'EUSAGE');
}

/** Reads fork, max-children, accept-timeout, interval and the broker's options from an address when it is a single address. */
async function listenerOptions(spec: AddressSpec, mode: AccessMode, ctx: Pick<OpenContext, 'settings' | 'registry'>) {
  if (spec.kind !== 'single') return { fork: false, maxChildren: 0, acceptTimeout: 0, interval: 1, shutup: 0, broker: undefined };
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
    broker: brokerOptions(request.options, fork, ctx.settings.direction),
  };
}

/** A broker needs a listener: an address that connects (fork's connect loop) has no peers to gather. */
function brokerListener(opened: Opened): Listener {
  if (opened.kind !== 'listener') throw new TsocatError(`option broker needs a listening address, not ${opened.description}`, 'EUSAGE');
  return opened;
}

/**
 * Runs a relay between two addresses and resolves with socat's exit status.
 * User errors reject with TsocatError; the CLI turns those into a log line.
 */
export async function relay(address1: string | AddressSpec, address2: string | AddressSpec, options: EngineRelayOptions): Promise<number> {
  const settings: RelaySettings = { ...DEFAULT_SETTINGS, ...options.settings };
  const log = options.log ?? createLogger(DEFAULT_LOG_CONFIG);
  const controller = new AbortController();
  // Each running session (and retry pause, FIFO open) listens here and takes its listener off when it ends,
  // so the count follows the sessions running at once, which a forking listener does not bound: no limit, no warning.
  setMaxListeners(0, controller.signal);
  const stopFollowing = onAbort(options.signal, () => controller.abort());
  const stats = options.stats ?? (settings.statistics ? new Statistics() : undefined);
  const countReconnect = stats
    ? () => {
        stats.reconnects++;
      }
    : undefined;
  const ctx: OpenContext = { settings, log, registry: options.registry, perPeer: false, signal: controller.signal, countReconnect };
  try {
    return await relayWith(address1, address2, ctx, controller, stats, options);
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
  { windDown, onOpened, onForm, workers }: Pick<RelayOptions, 'windDown' | 'onOpened' | 'onForm' | 'workers'>,
): Promise<number> {
  const { settings, log } = ctx;
  // until sessions run, winding down is stopping: nothing has been relayed that could be finished
  const stopOpening = onAbort(windDown, () => controller.abort());

  const spec1 = toSpec(address1);
  const spec2 = toSpec(address2);
  const [mode1, mode2] = modes(settings.direction);
  // Refuse bad input in either address before anything opens.
  await validateAddress(spec1, mode1, ctx);
  await validateAddress(spec2, mode2, ctx);
  const { fork, maxChildren, acceptTimeout, interval, shutup, broker } = await listenerOptions(spec1, mode1, ctx);
  onForm?.({ fork });
  // a broker on address 2 is refused before anything opens, as one on address 1
  const broker2 = broker ? undefined : (await listenerOptions(spec2, mode2, ctx)).broker;
  if (broker) await refuseBrokerConflicts(spec2, mode2, ctx);
  if (broker2) await refuseBrokerConflicts(spec1, mode1, ctx);
  if (workers) {
    const prepared = spec1.kind === 'single' ? await prepareAddress(spec1, mode1, ctx) : undefined;
    refuseWorkers({ fork, broker: broker !== undefined, acceptTimeout, plugin: prepared?.plugin, request: prepared?.request });
  }

  // a --workers worker's address 1 takes the socket the parent listens on
  const first = await openAddress(spec1, mode1, workers?.role === 'worker' ? { ...ctx, inheritedListener: workers.fd } : ctx);
  onOpened?.();
  if (broker) {
    const listener = brokerListener(first);
    let other: Endpoint;
    try {
      other = await single(await openAddress(spec2, mode2, ctx), acceptTimeout);
    } catch (err) {
      await listener.close();
      throw err;
    }
    stopOpening();
    return serveBroker(listener, other, ctx, { ...broker, maxChildren, windDown });
  }
  if (fork) {
    const pairFor = async (peer: Endpoint, childLog: Logger): Promise<[Endpoint, Endpoint]> => [
      peer,
      await single(await openAddress(spec2, mode2, { ...ctx, log: childLog, perPeer: true, connectionInfo: peer.connectionInfo, firstAddress: peer })),
    ];
    // a listener hands out accepted peers; an address that connects hands out one connection after another
    const reconnect = async () => {
      if (stats) stats.reconnects++;
      return single(await openAddress(spec1, mode1, ctx));
    };
    const peers = first.kind === 'listener' ? first : connectLoop(first, reconnect, interval, controller.signal);
    stopOpening();
    const serve = (slots?: Slots) => serveForever(peers, pairFor, ctx, { maxChildren, acceptTimeout, shutup, stats, windDown, slots });
    if (workers && first.kind === 'listener') return serveAsTeam(workers, first, { log, maxChildren, stop: () => controller.abort() }, serve);
    return serve();
  }
  const left = await single(first, acceptTimeout);
  let right: Endpoint;
  try {
    const second = await openAddress(spec2, mode2, { ...ctx, connectionInfo: left.connectionInfo, firstAddress: left });
    const forkOn2 = await listenerOptions(spec2, mode2, ctx);
    if (broker2) {
      stopOpening();
      return await serveBroker(brokerListener(second), left, ctx, { ...broker2, maxChildren: forkOn2.maxChildren, windDown });
    }
    if (second.kind === 'listener' && forkOn2.fork) {
      stopOpening();
      return await serveWithShared(left, second, ctx, { ...forkOn2, stats, windDown });
    }
    right = await single(second, forkOn2.acceptTimeout);
  } catch (err) {
    await left.close();
    throw err;
  }
  stopOpening();
  return runPair(left, right, { settings, log, stats, signal: controller.signal, windDown });
}

