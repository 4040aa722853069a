/**
 * A serial line opened by serialport's binding (the lock, the line settings
 * it makes raw), then the TERMIOS options applied on top in the order given,
 * as on any terminal. Read on the binding's poller, so nothing blocks the
 * event loop or the thread pool. With `reconnect`, a line that goes away
 * (hang-up, EIO, ENXIO, the device removed) is reopened with the same
 * settings while the relay waits, instead of ending it.
 */
import { existsSync, read, readdirSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { ResolvedOptions } from '../../../options/catalog.js';
import { TERMIOS_SPEEDS } from '../../../options/termios.js';
import { TsocatError } from '../../errors.js';
import { serialport } from '../../sys/builtins.js';
import type { Logger } from '../../log/logger.js';
import { onAbort, sleep } from '../abort.js';
import { type AccessMode, type Endpoint, makeEndpoint } from '../endpoint.js';
import { openOwn, pathKey, releasedOnClose } from '../held.js';
import { applyFdOptions } from '../descriptors/fdopts.js';
import { type ChunkSource, type SourceSink, sourceReadable } from '../source.js';
import { ComPortServer, TelnetSource } from './rfc2217.js';

interface PortBinding {
  fd: number | null;
  poller: { once(event: 'readable' | 'writable' | 'disconnect', cb: (err: Error | null) => void): void };
  write(buffer: Buffer): Promise<void>;
  set(options: { dtr?: boolean; rts?: boolean }): Promise<void>;
  get(): Promise<{ cts: boolean; dsr: boolean; dcd: boolean }>;
  close(): Promise<void>;
}

interface SerialBinding {
  open(options: Record<string, unknown>): Promise<PortBinding>;
  list(): Promise<Array<{ path: string; manufacturer?: string; serialNumber?: string; vendorId?: string; productId?: string }>>;
}

/** serialport's binding for this platform, loaded when a SERIAL address or --list-serial needs it. */
export async function serialBinding(): Promise<SerialBinding> {
  try {
    const { SerialPort } = serialport();
    return SerialPort.binding as unknown as SerialBinding;
  } catch (err) {
    throw new TsocatError(`serialport is not usable here (${(err as Error).message.split('\n')[0]}): reinstall tsocat with its dependencies`, 'ENOSERIAL');
  }
}

/** The last b<rate> option given (socat applies them in order), else 9600: serialport must be told a rate. */
function requestedBaud(o: ResolvedOptions): number {
  let baud = 9600;
  for (const name of o.names()) {
    const m = name.match(/^b(\d+)$/);
    if (m && TERMIOS_SPEEDS.some(([rate]) => rate === Number(m[1]))) baud = Number(m[1]);
  }
  return baud;
}

/** serialport's error texts carry the errno name; socat-style lines say the call and the C library's words. */
function openError(path: string, err: unknown): TsocatError {
  const text = (err as Error).message ?? String(err);
  const words: Record<string, string> = {
    ENOENT: 'No such file or directory',
    EACCES: 'Permission denied',
    ENOTTY: 'Inappropriate ioctl for device (not a terminal)',
    EBUSY: 'Device or resource busy',
    ENXIO: 'No such device or address',
    EISDIR: 'Is a directory',
  };
  // serialport words it "Error: No such file or directory, cannot open /dev/x"
  const said = text.replace(/^Error: /, '').replace(/, cannot open .*$/, '');
  const code = Object.keys(words).find((c) => text.includes(c)) ?? Object.keys(words).find((c) => words[c] === said);
  if (/lock/i.test(text)) return new TsocatError(`SERIAL "${path}": the device is in use (locked by another program): ${text}`, 'EBUSY');
  if (/Inappropriate ioctl|tcgetattr|tcsetattr|ENOTTY/i.test(text)) return new TsocatError(`SERIAL "${path}": not a terminal (${text})`, 'ENOTTY');
  return new TsocatError(`open("${path}"): ${code ? words[code] : said}`, code ?? 'EOPEN');
}

/** Opens the device and applies every setting; what fails closes it again. */
async function openLine(path: string, o: ResolvedOptions): Promise<{ port: PortBinding; restore?: () => void }> {
  const binding = await serialBinding();
  let port: PortBinding;
  try {
    port = await binding.open({ path, baudRate: requestedBaud(o), lock: true, hupcl: o.has('hupcl') ? o.bool('hupcl') : true });
  } catch (err) {
    throw openError(path, err);
  }
  try {
    const restore = await applyFdOptions(port.fd as number, o.without('dtr', 'rts', 'reconnect', 'rfc2217'));
    const lines: { dtr?: boolean; rts?: boolean } = {};
    if (o.has('dtr')) lines.dtr = o.bool('dtr');
    if (o.has('rts')) lines.rts = o.bool('rts');
    if (Object.keys(lines).length) {
      await port.set(lines).catch((err: Error) => {
        throw new TsocatError(`SERIAL "${path}": setting the modem lines (${Object.keys(lines).join(', ')}): ${err.message}`, 'EMODEM');
      });
    }
    return { port, restore };
  } catch (err) {
    await port.close().catch(() => {});
    throw err instanceof TsocatError ? err : openError(path, err);
  }
}

const LOST = new Set(['EIO', 'ENXIO', 'EBADF', 'ENODEV', 'EPIPE']);

class SerialLine implements ChunkSource {
  private sink?: SourceSink;
  private paused = false;
  private reading = false;
  private closed = false;
  /** Settles when the line is open again after a loss (reconnect). */
  private reopened?: Promise<void>;

  constructor(
    private port: PortBinding,
    private restore: (() => void) | undefined,
    private readonly path: string,
    private readonly o: ResolvedOptions,
    private readonly log: Logger,
    private readonly signal: AbortSignal,
  ) {}

  start(sink: SourceSink): void {
    this.sink = sink;
    this.readLoop();
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
    this.readLoop();
  }
  stop(): void {
    this.sink = undefined;
  }

  private readLoop(): void {
    if (this.reading || this.paused || this.closed || !this.sink) return;
    const fd = this.port.fd;
    if (fd === null) return;
    this.reading = true;
    const buf = Buffer.allocUnsafe(65536);
    read(fd, buf, 0, buf.length, null, (err, n) => {
      this.reading = false;
      if (this.closed) return;
      if (err && (err.code === 'EAGAIN' || err.code === 'EINTR')) {
        this.port.poller.once('readable', () => this.readLoop());
        return;
      }
      if (err && !LOST.has(err.code ?? '')) {
        this.sink?.error(err);
        return;
      }
      if (err || n === 0) {
        void this.lost(err ? err.code ?? 'error' : 'hang-up');
        return;
      }
      this.sink?.data(buf.subarray(0, n), () => {});
      this.readLoop();
    });
  }

  /** The line went away: end of input, or with reconnect wait for the device and reopen it. */
  private async lost(reason: string): Promise<void> {
    if (!this.o.bool('reconnect')) {
      this.log.log('N', `SERIAL "${this.path}": ${reason}, end of input`);
      this.sink?.end();
      return;
    }
    this.log.log('W', `SERIAL "${this.path}": line lost (${reason}), reopening`);
    this.reopened = this.reopen();
    try {
      await this.reopened;
      this.reopened = undefined;
      this.readLoop();
    } catch (err) {
      this.sink?.error(err as Error);
    }
  }

  private async reopen(): Promise<void> {
    this.restore = undefined;
    await this.port.close().catch(() => {});
    const interval = this.o.number('interval') ?? 1;
    const retries = this.o.has('retry') ? (this.o.number('retry') as number) : Infinity;
    for (let attempt = 1; ; attempt++) {
      await sleep(interval, this.signal);
      if (this.signal.aborted || this.closed) throw new TsocatError(`SERIAL "${this.path}": closed while reopening`, 'ECLOSED');
      try {
        const { port, restore } = await openLine(this.path, this.o);
        this.port = port;
        this.restore = restore;
        this.log.log('N', `SERIAL "${this.path}": reopened after ${attempt} attempt(s)`);
        return;
      } catch (err) {
        this.log.log('I', `SERIAL "${this.path}": reopen attempt ${attempt}: ${(err as Error).message}`);
        if (attempt >= retries) throw new TsocatError(`SERIAL "${this.path}": not back after ${attempt} attempt(s): ${(err as Error).message}`, 'ELOST');
      }
    }
  }

  /** Writes wait for a reopen in progress; a write that meets the loss is sent again once it is back. */
  async write(chunk: Buffer): Promise<void> {
    for (;;) {
      if (this.reopened) await this.reopened;
      try {
        await this.port.write(chunk);
        return;
      } catch (err) {
        if (!this.o.bool('reconnect') || this.closed) throw err;
        // the reader notices the loss too; wait for its reopen
        await new Promise((r) => setTimeout(r, 50));
        if (!this.reopened) await sleep(this.o.number('interval') ?? 1, this.signal);
        if (this.signal.aborted) throw err;
      }
    }
  }

  /** The descriptor of the line open now (reconnect replaces it). */
  fd(): number | null {
    return this.closed ? null : this.port.fd;
  }
  setLines(lines: { dtr?: boolean; rts?: boolean }): Promise<void> {
    return this.port.set(lines);
  }
  /** CTS, DSR and DCD as RFC 2217's modem-state bits (serialport reads no RI). */
  async modemState(): Promise<number> {
    const { cts, dsr, dcd } = await this.port.get();
    return (dcd ? 0x80 : 0) | (dsr ? 0x20 : 0) | (cts ? 0x10 : 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.restore?.();
    await this.port.close().catch(() => {});
  }
}

/** SERIAL:<device>: opens the line and wraps it as an endpoint. */
export async function serialEndpoint(path: string, mode: AccessMode, o: ResolvedOptions, log: Logger, signal: AbortSignal): Promise<Endpoint> {
  // a line an ending session of this relay still holds (serialport's lock: EBUSY) is waited for (src/engine/held.ts)
  const busy = (err: unknown) => (err as TsocatError).code === 'EBUSY';
  const { value: opened, held } = await openOwn(pathKey('SERIAL', path), busy, log, signal, () => openLine(path, o));
  const { port, restore } = opened;
  log.log('I', `SERIAL "${path}" open on fd ${port.fd}`);
  const line = new SerialLine(port, restore, path, o, log, signal);
  const stopWatching = onAbort(signal, () => void line.close());
  const telnet = o.bool('rfc2217') ? await comPortServer(line, path, mode, log) : undefined;
  const write = telnet ? (chunk: Buffer) => telnet.server.receive(chunk, (data) => line.write(data)) : (chunk: Buffer) => line.write(chunk);
  const source: ChunkSource = telnet?.source ?? line;
  const writable =
    mode === 'r'
      ? undefined
      : new Writable({
          write: (chunk: Buffer, _enc, cb) => write(chunk).then(() => cb(), cb),
        });
  const endpoint = makeEndpoint({
    source: mode === 'w' ? undefined : source,
    readable: mode === 'w' ? undefined : sourceReadable(source, () => void line.close()),
    writable,
    description: `SERIAL ${path}`,
    // the other side is done: the session ends within its close wait, and the next one may wait for this line (releasedOnClose)
    shutdownWrite: () => {},
    close: async () => {
      stopWatching();
      await new Promise<void>((resolve) => {
        setTimeout(resolve, 2000).unref();
        if (writable && !writable.destroyed) writable.end(resolve);
        else resolve();
      });
      telnet?.server.stop();
      await line.close();
    },
  });
  return releasedOnClose(endpoint, held);
}

/** `rfc2217`: the line speaks telnet COM-PORT-OPTION to the other address (rfc2217.ts). */
async function comPortServer(line: SerialLine, path: string, mode: AccessMode, log: Logger): Promise<{ server: ComPortServer; source: TelnetSource }> {
  if (mode !== 'rw') throw new TsocatError(`SERIAL "${path}": rfc2217 needs both directions (the client's commands come in, the answers go out)`, 'EOPTVALUE');
  const source = new TelnetSource(line);
  const server = new ComPortServer(line, (bytes) => source.send(bytes), log, `SERIAL "${path}"`, (on) => source.suspend(on));
  await server.start();
  return { server, source };
}

/** Serial devices the kernel has, from /sys/class/tty (for when udev's database is not there). */
function ttysFromSysfs(): string[] {
  try {
    return readdirSync('/sys/class/tty')
      .filter((name) => existsSync(`/sys/class/tty/${name}/device/driver`))
      .map((name) => `/dev/${name}`)
      .sort();
  } catch {
    return [];
  }
}

/**
 * --list-serial: one device a line, with what udev knows of it (serialport's
 * list, which asks udevadm). Without udev the kernel's own list is printed.
 */
export async function serialListText(log: Logger): Promise<string> {
  let rows: string[];
  try {
    const ports = await (await serialBinding()).list();
    rows = ports.map((p) => [p.path, p.manufacturer, p.serialNumber, p.vendorId && p.productId ? `${p.vendorId}:${p.productId}` : undefined].filter(Boolean).join('\t'));
  } catch (err) {
    log.log('I', `serialport could not list devices (${(err as Error).message.split('\n')[0]}); listing /sys/class/tty`);
    rows = ttysFromSysfs();
  }
  return rows.length ? `${rows.join('\n')}\n` : '';
}
