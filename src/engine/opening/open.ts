/**
 * From an AddressSpec to an opened Endpoint or Listener: keyword lookup
 * (with socat's fallbacks for bare digits and paths), parameter count,
 * option validation, chdir/umask around the open, and retry.
 */

import { type ResolvedOptions, resolveOptions } from '../../../options/catalog.js';
import { loadCatalog } from '../../../options/index.js';
import { syntaxOf } from '../../define.js';
import { TsocatError } from '../../errors.js';
import type { AddressSpec, SingleAddressSpec } from '../../grammar/spec.js';
import { sleep } from '../abort.js';
import type { AddressPlugin, AddressRequest, OpenContext, Registry } from '../context.js';
import { type AccessMode, type ApplSettings, type Endpoint, type HandOver, type LineTerm, makeEndpoint, type Opened } from '../endpoint.js';
import { applyOnce, privilegesFor } from './privileges.js';
import { takeLock } from './lockfile.js';
import { type Hold, releasedOnClose } from '../held.js';

/** Finds the plugin for a keyword; a lone digit means FD, a path means GOPEN, as in socat. */
export async function resolveKeyword(spec: SingleAddressSpec, registry: Registry): Promise<{ plugin: AddressPlugin; keyword: string; params: string[] }> {
  const keyword = spec.type.toUpperCase();
  const plugin = registry.get(keyword);
  if (plugin) return { plugin, keyword, params: spec.params };
  if (/^[0-9]$/.test(spec.type) && registry.has('FD')) {
    return { plugin: registry.get('FD') as AddressPlugin, keyword: 'FD', params: [spec.type, ...spec.params] };
  }
  if (spec.type.includes('/') && registry.has('GOPEN')) {
    return { plugin: registry.get('GOPEN') as AddressPlugin, keyword: 'GOPEN', params: [spec.type, ...spec.params] };
  }
  // a keyword socat has and a plugin knows it cannot offer: its reason rather than "unknown"
  for (const known of new Set(registry.values())) {
    const why = known.refused?.[keyword];
    if (why !== undefined) throw new TsocatError(`${keyword}: ${why}`, 'ENOADDR');
  }
  throw new TsocatError(`unknown device/address "${spec.type}"`, 'ENOADDR');
}

/** Options already reported under -s: an address is prepared more than once, socat reports each once. */
const sloppyReported = new WeakSet<object>();

type PrepareContext = Pick<OpenContext, 'settings' | 'registry'> & Partial<Pick<OpenContext, 'log'>>;

interface Prepared {
  plugin: AddressPlugin;
  request: AddressRequest;
}

/**
 * Addresses already prepared, by spec and mode, with the settings and registry they were
 * prepared under: a forking listener opens address 2 for every peer with the same options,
 * as socat's children use what the parent parsed, so the keyword lookup and option
 * resolution run once per relay rather than once per peer.
 */
const prepared = new WeakMap<SingleAddressSpec, Map<AccessMode, Prepared & Pick<PrepareContext, 'settings' | 'registry'>>>();

/** Validates everything about one single address without opening it (once for a spec, mode, settings and registry). */
export async function prepareAddress(spec: SingleAddressSpec, mode: AccessMode, ctx: PrepareContext): Promise<Prepared> {
  const known = prepared.get(spec)?.get(mode);
  if (known && known.settings === ctx.settings && known.registry === ctx.registry) return known;
  const fresh = await prepareOnce(spec, mode, ctx);
  const byMode = prepared.get(spec) ?? new Map();
  prepared.set(spec, byMode);
  byMode.set(mode, { ...fresh, settings: ctx.settings, registry: ctx.registry });
  return fresh;
}

async function prepareOnce(spec: SingleAddressSpec, mode: AccessMode, ctx: PrepareContext): Promise<Prepared> {
  // the option rows are needed only to read options (the bundled command loads them on demand)
  if (spec.options.length > 0) await loadCatalog();
  const resolved = await resolveKeyword(spec, ctx.registry);
  const { plugin, keyword } = resolved;
  const last = plugin.params.length - 1;
  // a URL's own colons split it into parameters; the plugin takes them back as one
  const params = plugin.restParam && resolved.params.length > last + 1 ? [...resolved.params.slice(0, last), resolved.params.slice(last).join(':')] : resolved.params;
  const min = plugin.minParams ?? plugin.params.length;
  if (params.length < min || params.length > plugin.params.length) {
    const expected = params.length < min ? min : plugin.params.length;
    throw new TsocatError(
      `${spec.type}: wrong number of parameters (${params.length} instead of ${expected}): usage: ${keyword}${syntaxOf(plugin)}`,
      'EPARAMS',
    );
  }
  const sloppy = ctx.settings.sloppy
    ? (option: object, refusal: TsocatError) => {
        if (sloppyReported.has(option)) return;
        sloppyReported.add(option);
        ctx.log?.log(refusal.level, refusal.message);
      }
    : undefined;
  const options = resolveOptions(spec.options, plugin.groups, ctx.settings.ignoreGroups, sloppy);
  // users and groups are looked up now, before anything opens (and before any chroot hides /etc/passwd)
  privilegesFor(spec, options);
  const request: AddressRequest = { keyword, params, options, mode, spec };
  return { plugin, request };
}

/** Validates both halves of an address (single or dual) up front, so bad input fails before anything opens. */
export async function validateAddress(spec: AddressSpec, mode: AccessMode, ctx: Pick<OpenContext, 'settings' | 'registry'> & Partial<Pick<OpenContext, 'log'>>): Promise<void> {
  if (spec.kind === 'single') await prepareAddress(spec, mode, ctx);
  else {
    await prepareAddress(spec.read, 'r', ctx);
    await prepareAddress(spec.write, 'w', ctx);
  }
}

/** chdir and umask apply only while the address opens, as in socat. */
async function withProcessState<T>(request: AddressRequest, fn: () => Promise<T>): Promise<T> {
  const dir = request.options.string('chdir');
  const mask = request.options.number('umask');
  const oldDir = dir !== undefined ? process.cwd() : undefined;
  const oldMask = mask !== undefined ? process.umask(mask) : undefined;
  try {
    if (dir !== undefined) {
      try {
        process.chdir(dir);
      } catch (err) {
        throw new TsocatError(`chdir("${dir}"): ${(err as { code?: string }).code === 'ENOENT' ? 'No such file or directory' : String((err as Error).message)}`, 'ECHDIR');
      }
    }
    return await fn();
  } finally {
    if (oldDir !== undefined) process.chdir(oldDir);
    if (oldMask !== undefined) process.umask(oldMask);
  }
}

async function openSingle(spec: SingleAddressSpec, mode: AccessMode, ctx: OpenContext): Promise<Opened> {
  const { plugin, request } = await prepareAddress(spec, mode, ctx);
  if (mode === 'rw' && plugin.directions && plugin.directions !== 'rw') {
    // as socat: the relay goes on with the one direction the address has
    ctx.log.log('W', `address is opened in read-write mode but only supports ${plugin.directions === 'r' ? 'read-only' : 'write-only'}`);
  }
  // socat 1.8.1.1 warns of netns, its one experimental option, unless --experimental says it is wanted
  if (request.options.has('netns') && !ctx.settings.experimental) ctx.log.log('W', 'option "netns" is experimental');
  const privileges = privilegesFor(spec, request.options);
  await applyOnce(spec, 'early', privileges.early);
  const opened = await openWithRetries(plugin, request, ctx);
  // an address that starts a program gives its late PROCESS options to the program (addresses/exec.ts)
  if (!plugin.groups.includes('FORK')) {
    await applyOnce(spec, 'late', privileges.late).catch(async (err) => {
      await opened.close();
      throw err;
    });
  }
  return withAppl(opened, applFrom(request.options), shutMethod(request.options));
}

async function openWithRetries(plugin: AddressPlugin, request: AddressRequest, ctx: OpenContext): Promise<Opened> {
  const retries = request.options.number('retry') ?? 0;
  const forever = request.options.bool('forever');
  const interval = request.options.number('interval') ?? 1;
  const unlock = await takeLock(request.options, ctx.log, ctx.signal);
  for (let attempt = 0; ; attempt++) {
    try {
      const opened = await withProcessState(request, () => plugin.open(request, ctx));
      return releasingOnClose(opened, unlock);
    } catch (err) {
      const canRetry = !ctx.signal.aborted && err instanceof TsocatError && err.code !== 'EUSAGE' && (forever || attempt < retries);
      if (!canRetry) {
        unlock?.release();
        throw err;
      }
      ctx.log.log('W', err.message);
      ctx.log.log('N', `retrying in ${interval} second(s)`);
      await sleep(interval, ctx.signal);
    }
  }
}

/**
 * The address's lock (lockfile/waitlock) is held until the address closes, as
 * socat removes it in its close; its session is ending from its shutdown on.
 */
function releasingOnClose(opened: Opened, lock: Hold | undefined): Opened {
  return lock ? releasedOnClose(opened, lock) : opened;
}

function applFrom(options: ResolvedOptions): ApplSettings {
  const lineTerm: LineTerm = options.has('crnl') ? 'crnl' : options.has('cr') ? 'cr' : 'raw';
  return { readBytes: options.number('readbytes'), escape: options.number('escape'), ignoreEof: options.bool('ignoreeof'), readLineTerm: lineTerm, writeLineTerm: lineTerm, coolWrite: options.bool('cool-write') };
}

type ShutMethod = 'none' | 'down' | 'close' | 'null' | undefined;

/** socat's shut-* options: what reaching the other side's end of file does to this address. */
function shutMethod(options: ResolvedOptions): ShutMethod {
  for (const m of ['none', 'null', 'close', 'down'] as const) if (options.has(`shut-${m}`)) return m;
  return undefined;
}

/** Replaces an endpoint's half-close as a shut-* option asks; shut-down keeps the address's own way (it is socat's default on sockets). */
function applyShutMethod(ep: Endpoint, method: ShutMethod): void {
  if (method === 'none') ep.shutdownWrite = () => {};
  if (method === 'close') {
    // socat close()s the descriptor: after the last bytes go out nothing more is read from it, so data the
    // peer sends later is refused instead of relayed (the relay ends with the -t timeout). Closing Node's
    // stream would leave the zero-copy path's own descriptor reading: this address stays on the buffered path
    ep.kernelFd = undefined;
    ep.datagramBatch = undefined;
    const { readable, writable } = ep;
    ep.shutdownWrite = () => {
      const stopReading = () => readable?.destroy();
      if (writable && !writable.writableEnded) writable.end(stopReading);
      else stopReading();
    };
  }
  if (method === 'null') {
    // an empty packet tells a datagram peer "end"; on a stream it writes nothing
    ep.shutdownWrite = () => {
      if (ep.writable && !ep.writable.writableEnded) ep.writable.write(Buffer.alloc(0));
    };
  }
}

/** Attaches APPL settings and the shut-* method to an endpoint, or to every peer a listener hands out. */
function withAppl(opened: Opened, appl: ApplSettings, shut: ShutMethod): Opened {
  if (opened.kind === 'endpoint') {
    opened.appl = appl;
    applyShutMethod(opened, shut);
    return opened;
  }
  const accept = opened.accept.bind(opened);
  opened.accept = async () => {
    const peer = await accept();
    peer.appl = appl;
    applyShutMethod(peer, shut);
    return peer;
  };
  return opened;
}

/**
 * A listening half of a dual address (socat's man page: UDP4-RECVFROM:9999,…!!-)
 * waits for its first peer, as socat's open blocks until one comes; that peer
 * is the half. A forking one would need a dual session per peer: refused.
 */
async function asEndpoint(opened: Opened, half: SingleAddressSpec): Promise<Endpoint> {
  if (opened.kind === 'endpoint') return opened;
  try {
    if (half.options.some((o) => o.name.toLowerCase() === 'fork')) throw new TsocatError(`${half.text}: a forking listening address cannot be one half of a dual address`, 'EUSAGE');
    return await opened.accept();
  } finally {
    // the peer handed out keeps what it shares with the listener (its socket) until it closes
    await opened.close();
  }
}

/** A dual address hands over its read half's reading descriptor and its write half's writing one. */
function dualHandOver(reader: Endpoint | undefined, writer: Endpoint | undefined): HandOver | undefined {
  const read = reader?.handOver;
  const write = writer?.handOver;
  if ((reader && !read) || (writer && !write)) return undefined;
  return {
    read: read?.read,
    write: write?.write,
    release: () => {
      read?.release();
      write?.release();
    },
  };
}

/** Opens a whole address; a dual address becomes one endpoint reading from one half and writing to the other. */
export async function openAddress(spec: AddressSpec, mode: AccessMode, ctx: OpenContext): Promise<Opened> {
  if (spec.kind === 'single') return openSingle(spec, mode, ctx);
  if (mode !== 'rw') ctx.log.log('W', 'unidirectional open of dual address');
  const reader = mode === 'w' ? undefined : await asEndpoint(await openSingle(spec.read, 'r', ctx), spec.read);
  let writer: Endpoint | undefined;
  try {
    writer = mode === 'r' ? undefined : await asEndpoint(await openSingle(spec.write, 'w', ctx), spec.write);
  } catch (err) {
    await reader?.close();
    throw err;
  }
  return makeEndpoint({
    appl: {
      readBytes: reader?.appl?.readBytes,
      escape: reader?.appl?.escape,
      ignoreEof: reader?.appl?.ignoreEof,
      readLineTerm: reader?.appl?.readLineTerm ?? 'raw',
      writeLineTerm: writer?.appl?.writeLineTerm ?? 'raw',
      coolWrite: writer?.appl?.coolWrite,
    },
    readable: reader?.readable,
    source: reader?.source,
    datagram: reader?.datagram,
    readFd: reader?.readFd,
    writable: writer?.writable,
    handOver: dualHandOver(reader, writer),
    description: `${reader?.description ?? '-'}!!${writer?.description ?? '-'}`,
    // what socat exports about a peer (SOCAT_PEERADDR, a packet's SOCAT_IP_*…) comes from the half that has one
    connectionInfo: reader?.connectionInfo || writer?.connectionInfo ? { ...writer?.connectionInfo, ...reader?.connectionInfo } : undefined,
    exited: reader?.exited ?? writer?.exited,
    shutdownWrite: () => writer?.shutdownWrite(),
    close: async () => {
      await Promise.all([reader?.close(), writer?.close()]);
    },
  });
}
