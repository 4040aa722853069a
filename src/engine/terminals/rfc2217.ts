/**
 * RFC 2217 (telnet COM-PORT-OPTION, option 44), the server side: a SERIAL
 * line with `rfc2217` speaks telnet to whoever is on the other address. Data
 * bytes 0xFF are doubled (IAC IAC) both ways; the client's sub-negotiations
 * set the line's speed, data size, parity, stop bits and flow control through
 * the same termios calls as the TERMIOS options, and its DTR/RTS requests go
 * to the modem lines. Every request is answered with the setting the line
 * has afterwards, so a value the line cannot take is seen refused.
 */
import { TERMIOS_SPEEDS } from '../../../options/termios.js';
import type { Logger } from '../../log/logger.js';
import type { ChunkSource, SourceSink } from '../source.js';

export const IAC = 255;
const DONT = 254;
const DO = 253;
const WONT = 252;
const WILL = 251;
const SB = 250;
const SE = 240;
const BINARY = 0;
const SGA = 3;
export const COM_PORT_OPTION = 44;

/** Client-to-server command numbers (the server answers with the number plus 100). */
export const CPO = {
  SIGNATURE: 0,
  SET_BAUDRATE: 1,
  SET_DATASIZE: 2,
  SET_PARITY: 3,
  SET_STOPSIZE: 4,
  SET_CONTROL: 5,
  NOTIFY_LINESTATE: 6,
  NOTIFY_MODEMSTATE: 7,
  FLOWCONTROL_SUSPEND: 8,
  FLOWCONTROL_RESUME: 9,
  SET_LINESTATE_MASK: 10,
  SET_MODEMSTATE_MASK: 11,
  PURGE_DATA: 12,
} as const;
export const SERVER = 100;

// struct termios bits (Linux)
const CBAUD = 0o10017;
const CSIZE = 0o60;
const CSTOPB = 0o100;
const PARENB = 0o400;
const PARODD = 0o1000;
const CMSPAR = 0o10000000000;
const CRTSCTS = 0o20000000000;
const IXON = 0o2000;
const IXOFF = 0o10000;
const IFLAG = 0;
const CFLAG = 8;

/** What the telnet layer needs of the line. */
export interface ComPortLine {
  /** The line's descriptor now (it changes when `reconnect` reopens it), null while closed. */
  fd(): number | null;
  /** Sets DTR and/or RTS; rejects when the device has no modem lines (a pty). */
  setLines(lines: { dtr?: boolean; rts?: boolean }): Promise<void>;
  /** CTS, DSR, DCD (and RI) as RFC 2217's modem-state byte; undefined when the device cannot tell. */
  modemState(): Promise<number | undefined>;
}

/** Doubles every 0xFF, so data never reads as a telnet command. Returns `data` itself when it has none. */
export function escapeIac(data: Buffer): Buffer {
  let count = 0;
  for (let i = data.indexOf(IAC); i !== -1; i = data.indexOf(IAC, i + 1)) count++;
  if (count === 0) return data;
  const out = Buffer.allocUnsafe(data.length + count);
  let o = 0;
  for (const b of data) {
    out[o++] = b;
    if (b === IAC) out[o++] = IAC;
  }
  return out;
}

/** One piece of what the client sent: data for the line, a negotiation, or a sub-negotiation. */
export type TelnetItem = { data: Buffer } | { verb: number; option: number } | { sub: Buffer };

enum State {
  Data,
  Iac,
  Verb,
  Sub,
  SubIac,
}

/** The client's byte stream split into data and telnet commands; a command cut across reads is kept until it is whole. */
export class TelnetDecoder {
  private state = State.Data;
  private verb = 0;
  private sub: number[] = [];

  decode(chunk: Buffer): TelnetItem[] {
    const items: TelnetItem[] = [];
    const data: number[] = [];
    const flush = () => {
      if (data.length) items.push({ data: Buffer.from(data.splice(0)) });
    };
    for (const b of chunk) {
      switch (this.state) {
        case State.Data:
          if (b === IAC) this.state = State.Iac;
          else data.push(b);
          break;
        case State.Iac:
          this.state = State.Data;
          if (b === IAC) data.push(IAC);
          else if (b === SB) {
            this.state = State.Sub;
            this.sub = [];
          } else if (b >= WILL && b <= DONT) {
            this.verb = b;
            this.state = State.Verb;
          }
          // other commands (NOP, AYT, GA…) carry nothing for a serial line
          break;
        case State.Verb:
          flush();
          items.push({ verb: this.verb, option: b });
          this.state = State.Data;
          break;
        case State.Sub:
          if (b === IAC) this.state = State.SubIac;
          else this.sub.push(b);
          break;
        case State.SubIac:
          if (b === IAC) {
            this.sub.push(IAC);
            this.state = State.Sub;
          } else {
            // IAC SE ends it (anything else after IAC ends it too, as a lenient reader)
            flush();
            items.push({ sub: Buffer.from(this.sub) });
            this.sub = [];
            this.state = State.Data;
          }
          break;
      }
    }
    flush();
    return items;
  }
}

/** A ChunkSource over the line's that escapes 0xFF and lets the telnet server put its answers in the same stream. */
export class TelnetSource implements ChunkSource {
  private sink?: SourceSink;
  private pending: Buffer[] = [];
  constructor(private readonly inner: ChunkSource) {}

  start(sink: SourceSink): void {
    this.sink = sink;
    for (const b of this.pending.splice(0)) sink.data(b, () => {});
    this.inner.start({
      data: (chunk, release) => {
        const escaped = escapeIac(chunk);
        if (escaped === chunk) sink.data(chunk, release);
        else {
          release();
          sink.data(escaped, () => {});
        }
      },
      end: () => sink.end(),
      error: (err) => sink.error(err),
    });
  }
  /** Telnet bytes of the server's own (negotiation, answers): before start they wait for it. */
  send(bytes: Buffer): void {
    if (this.sink) this.sink.data(bytes, () => {});
    else this.pending.push(bytes);
  }
  private paused = false;
  private suspended = false;
  pause(): void {
    this.paused = true;
    this.inner.pause();
  }
  resume(): void {
    this.paused = false;
    if (!this.suspended) this.inner.resume();
  }
  /** FLOWCONTROL-SUSPEND/RESUME: the client's own pause, on top of the relay's. */
  suspend(on: boolean): void {
    this.suspended = on;
    if (on) this.inner.pause();
    else if (!this.paused) this.inner.resume();
  }
  stop(): void {
    this.sink = undefined;
    this.inner.stop();
  }
}

/** The options either side here takes part in; any other is refused (WONT/DONT). */
const OURS = new Set([BINARY, SGA, COM_PORT_OPTION]);

/** The telnet options in force on each side, and the answers a request gets; the server and the RFC2217 client share it. */
export class TelnetOptions {
  /** Options enabled (or asked for) on our side and on theirs. */
  readonly us = new Set<number>();
  readonly them = new Set<number>();
  constructor(private readonly send: (bytes: Buffer) => void) {}

  /** Asks for options: WILL for ours, DO for theirs (counted as on until refused). */
  offer(will: number[], doo: number[]): void {
    const bytes: number[] = [];
    for (const o of will) {
      bytes.push(IAC, WILL, o);
      this.us.add(o);
    }
    for (const o of doo) {
      bytes.push(IAC, DO, o);
      this.them.add(o);
    }
    this.send(Buffer.from(bytes));
  }

  /** DO/DONT ask about our side, WILL/WONT about theirs; only a change of state is answered, so nothing loops. */
  negotiate(verb: number, option: number): void {
    const ourSide = verb === DO || verb === DONT;
    const side = ourSide ? this.us : this.them;
    const asked = verb === (ourSide ? DO : WILL);
    const [yes, no] = ourSide ? [WILL, WONT] : [DO, DONT];
    const want = asked && OURS.has(option);
    if (want === side.has(option)) {
      if (asked && !want) this.send(Buffer.from([IAC, no, option]));
      return;
    }
    if (want) side.add(option);
    else side.delete(option);
    this.send(Buffer.from([IAC, want ? yes : no, option]));
  }
}

/** IAC SB COM-PORT-OPTION <command> <value> IAC SE, the value's 0xFF doubled like data. */
export function comPortCommand(command: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([IAC, SB, COM_PORT_OPTION, command]), escapeIac(value), Buffer.from([IAC, SE])]);
}

const PARITY_NAMES = ['?', 'none', 'odd', 'even', 'mark', 'space'];

/**
 * The telnet side of one connection to an `rfc2217` SERIAL line: answers the
 * negotiation, applies COM-PORT-OPTION requests to the line and reports
 * modem-state changes the client asked to hear of.
 */
export class ComPortServer {
  private readonly decoder = new TelnetDecoder();
  private readonly options: TelnetOptions;
  private readonly lines = { dtr: true, rts: true };
  private noModemLines = false;
  private modemMask = 0xff;
  private lastModem?: number;
  private poll?: NodeJS.Timeout;
  private libc?: typeof import('../../sys/libc.js');

  constructor(
    private readonly line: ComPortLine,
    private readonly send: (bytes: Buffer) => void,
    private readonly log: Logger,
    private readonly name: string,
    private readonly suspend: (on: boolean) => void = () => {},
  ) {
    this.options = new TelnetOptions(send);
  }

  /** What the server says first: it will and wants binary both ways, and offers COM-PORT-OPTION and SGA. */
  async start(): Promise<void> {
    this.libc = await import('../../sys/libc.js');
    this.options.offer([BINARY], [BINARY]);
    this.options.offer([SGA, COM_PORT_OPTION], []);
    const state = await this.line.modemState().catch(() => undefined);
    if (state === undefined) return;
    this.lastModem = state;
    // modem lines have no event to wait on: look twice a second while a client is connected
    this.poll = setInterval(() => void this.checkModem(), 500);
    this.poll.unref();
  }

  stop(): void {
    if (this.poll) clearInterval(this.poll);
  }

  private async checkModem(): Promise<void> {
    const state = await this.line.modemState().catch(() => undefined);
    if (state === undefined || this.lastModem === undefined) return;
    // the low nibble says which lines changed since the last report
    const changed = ((state ^ this.lastModem) >> 4) & 0x0f;
    this.lastModem = state;
    if (changed) this.notifyModem(state | changed);
  }

  private notifyModem(state: number): void {
    if (state & this.modemMask) this.answer(CPO.NOTIFY_MODEMSTATE, Buffer.from([state & this.modemMask]));
  }

  /** Splits what the client sent: data for the line (returned, in order) and commands (handled on the way). */
  async receive(chunk: Buffer, writeData: (data: Buffer) => Promise<void>): Promise<void> {
    for (const item of this.decoder.decode(chunk)) {
      if ('data' in item) await writeData(item.data);
      else if ('verb' in item) this.options.negotiate(item.verb, item.option);
      else await this.subnegotiate(item.sub);
    }
  }

  /** The server's answer to `command`. */
  private answer(command: number, value: Buffer): void {
    this.send(comPortCommand(command + SERVER, value));
  }

  private async subnegotiate(sub: Buffer): Promise<void> {
    if (sub[0] !== COM_PORT_OPTION || sub.length < 2) return;
    const command = sub[1] as number;
    const value = sub.subarray(2);
    const byte = value[0] ?? 0;
    switch (command) {
      case CPO.SIGNATURE:
        this.answer(command, Buffer.from(value.length ? '' : `tsocat ${this.name}`));
        return;
      case CPO.SET_BAUDRATE: {
        const rate = value.length >= 4 ? value.readUInt32BE(0) : 0;
        if (rate) this.change(`baud rate ${rate}`, (t) => this.setSpeed(t, rate));
        const out = Buffer.alloc(4);
        out.writeUInt32BE(this.speed() ?? 0);
        this.answer(command, out);
        return;
      }
      case CPO.SET_DATASIZE:
        if (byte) this.change(`data size ${byte}`, (t) => byte >= 5 && byte <= 8 && setBits(t, CFLAG, CSIZE, (byte - 5) << 4));
        this.answer(command, Buffer.from([((this.word(CFLAG) & CSIZE) >> 4) + 5]));
        return;
      case CPO.SET_PARITY:
        if (byte) this.change(`parity ${PARITY_NAMES[byte] ?? byte}`, (t) => setParity(t, byte));
        this.answer(command, Buffer.from([parityOf(this.word(CFLAG))]));
        return;
      case CPO.SET_STOPSIZE:
        // 1.5 stop bits (3) exist only with 5 data bits, where Linux's CSTOPB means them; asked otherwise it is refused
        if (byte) this.change(`stop size ${byte}`, (t) => (byte === 1 || byte === 2) && setBits(t, CFLAG, CSTOPB, byte === 2 ? CSTOPB : 0));
        this.answer(command, Buffer.from([this.word(CFLAG) & CSTOPB ? 2 : 1]));
        return;
      case CPO.SET_CONTROL:
        this.answer(command, Buffer.from([await this.control(byte)]));
        return;
      case CPO.SET_MODEMSTATE_MASK:
        this.modemMask = byte;
        this.answer(command, Buffer.from([byte]));
        if (this.lastModem !== undefined) this.notifyModem(this.lastModem);
        return;
      case CPO.FLOWCONTROL_SUSPEND:
      case CPO.FLOWCONTROL_RESUME:
        // the client cannot take more: stop reading the line until it says resume (RFC 2217's flow control of the connection)
        this.suspend(command === CPO.FLOWCONTROL_SUSPEND);
        this.answer(command, value.subarray(0, 1));
        return;
      case CPO.SET_LINESTATE_MASK:
        this.answer(command, value.subarray(0, 1));
        return;
      case CPO.PURGE_DATA:
        this.purge(byte);
        this.answer(command, Buffer.from([byte]));
        return;
      default:
        this.log.log('I', `${this.name}: RFC 2217 command ${command} not known, ignored`);
    }
  }

  private word(offset: number): number {
    const fd = this.line.fd();
    if (fd === null || !this.libc) return 0;
    return this.libc.getTermios(fd).readUInt32LE(offset);
  }

  private speed(): number | undefined {
    const constant = this.word(CFLAG) & CBAUD;
    return TERMIOS_SPEEDS.find(([, c]) => c === constant)?.[0];
  }

  private setSpeed(t: Buffer, rate: number): boolean {
    const constant = TERMIOS_SPEEDS.find(([baud]) => baud === rate)?.[1];
    if (constant === undefined || rate === 0 || !this.libc) return false;
    this.libc.setTermiosSpeed(t, 'both', constant);
    return true;
  }

  /** One tcgetattr, the change, one tcsetattr; a value the line cannot take changes nothing (the answer then shows the old one). */
  private change(what: string, edit: (t: Buffer) => boolean): void {
    const fd = this.line.fd();
    if (fd === null || !this.libc) return;
    const t = this.libc.getTermios(fd);
    if (!edit(t)) {
      this.log.log('W', `${this.name}: RFC 2217 client asked for ${what}, which the line cannot take; refused`);
      return;
    }
    try {
      this.libc.setTermios(fd, t);
      this.log.log('N', `${this.name}: RFC 2217 client set ${what}`);
    } catch (err) {
      this.log.log('W', `${this.name}: RFC 2217 ${what}: ${(err as Error).message}`);
    }
  }

  /** SET-CONTROL: flow control, BREAK, DTR, RTS; answers the state the line has afterwards. */
  private async control(value: number): Promise<number> {
    switch (value) {
      case 0: {
        const c = this.word(CFLAG);
        const i = this.word(IFLAG);
        return c & CRTSCTS ? 3 : i & (IXON | IXOFF) ? 2 : 1;
      }
      case 1:
      case 2:
      case 3:
        this.change(['no flow control', 'XON/XOFF flow control', 'RTS/CTS flow control'][value - 1] as string, (t) => {
          setBits(t, CFLAG, CRTSCTS, value === 3 ? CRTSCTS : 0);
          setBits(t, IFLAG, IXON | IXOFF, value === 2 ? IXON | IXOFF : 0);
          return true;
        });
        return this.control(0);
      case 4:
      case 5:
      case 6:
        // BREAK is not sent by tsocat: always off
        if (value === 5) this.log.log('W', `${this.name}: RFC 2217 client asked for BREAK, which tsocat does not send; refused`);
        return 6;
      case 7:
      case 10:
        return value === 7 ? (this.lines.dtr ? 8 : 9) : this.lines.rts ? 11 : 12;
      case 8:
      case 9:
      case 11:
      case 12: {
        const which = value <= 9 ? 'dtr' : 'rts';
        const on = value === 8 || value === 11;
        await this.setLine(which, on);
        return which === 'dtr' ? (this.lines.dtr ? 8 : 9) : this.lines.rts ? 11 : 12;
      }
      default:
        // inbound flow control and DCD/DTR/DSR flow: only "same as outbound"
        return value === 13 || value === 14 ? 14 : 14;
    }
  }

  /**
   * A device without modem lines (a pty) has no DTR or RTS to set: the state is
   * kept and answered as asked, so a client that always sets them (pyserial)
   * still works; one I line says so.
   */
  private async setLine(which: 'dtr' | 'rts', on: boolean): Promise<void> {
    if (!this.noModemLines) {
      try {
        await this.line.setLines({ [which]: on });
      } catch (err) {
        this.noModemLines = true;
        this.log.log('I', `${this.name}: no modem lines (${(err as Error).message}): DTR/RTS requests are answered but change nothing`);
      }
    }
    this.lines[which] = on;
  }

  private purge(which: number): void {
    const fd = this.line.fd();
    if (fd === null || !this.libc || which < 1 || which > 3) return;
    // RFC 2217: 1 the receive buffer, 2 the transmit buffer, 3 both; tcflush's TCIFLUSH 0, TCOFLUSH 1, TCIOFLUSH 2
    try {
      this.libc.flushTerminal(fd, which - 1);
    } catch (err) {
      this.log.log('I', `${this.name}: RFC 2217 purge: ${(err as Error).message}`);
    }
  }
}

function setBits(t: Buffer, offset: number, mask: number, value: number): true {
  t.writeUInt32LE(((t.readUInt32LE(offset) & ~mask) | value) >>> 0, offset);
  return true;
}

function setParity(t: Buffer, parity: number): boolean {
  const bits = [undefined, 0, PARENB | PARODD, PARENB, PARENB | PARODD | CMSPAR, PARENB | CMSPAR][parity];
  if (bits === undefined) return false;
  setBits(t, CFLAG, PARENB | PARODD | CMSPAR, bits);
  return true;
}

function parityOf(cflag: number): number {
  if (!(cflag & PARENB)) return 1;
  if (cflag & CMSPAR) return cflag & PARODD ? 4 : 5;
  return cflag & PARODD ? 2 : 3;
}
