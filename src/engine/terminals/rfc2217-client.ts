/**
 * RFC2217:<host>:<port>: a serial port on another machine, through a server
 * speaking telnet COM-PORT-OPTION (ser2net, tsocat's SERIAL,rfc2217). The
 * line settings given as options (b115200, cs8, parenb, cstopb, crtscts, dtr,
 * rts) are sent as RFC 2217 commands once the server agreed to the option, and
 * each must be answered with the value asked, or the address fails. Then
 * data flows with 0xFF doubled on the way out and undoubled on the way in.
 */
import { Readable, Writable } from 'node:stream';
import type { Socket } from 'node:net';
import type { ResolvedOptions } from '../../../options/catalog.js';
import { TERMIOS_SPEEDS } from '../../../options/termios.js';
import { TsocatError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { type AccessMode, type Endpoint, makeEndpoint } from '../endpoint.js';
import { COM_PORT_OPTION, CPO, comPortCommand, escapeIac, SERVER, TelnetDecoder, TelnetOptions } from './rfc2217.js';

const BINARY = 0;
const SGA = 3;
const DO = 253;
const WILL = 251;
/** How long the server has for each answer. */
const ANSWER_MS = 5000;

/** One setting to send: the command, its value, and how to name it in an error. */
interface Setting {
  command: number;
  value: Buffer;
  what: string;
}

const SPEEDS = new Set(TERMIOS_SPEEDS.map(([baud]) => `b${baud}`));
const SIZES = ['cs5', 'cs6', 'cs7', 'cs8'];
/** The options RFC 2217 can carry; every other line option is refused rather than dropped. */
export const RFC2217_SENT = ['b<rate>', 'cs5', 'cs6', 'cs7', 'cs8', 'parenb', 'parodd', 'cstopb', 'crtscts', 'dtr', 'rts'];

/** The RFC 2217 commands the options ask for, in the order given; `line` are the option names that belong to the line (not the socket). */
export function settingsFrom(o: ResolvedOptions, line: Set<string>): { settings: Setting[]; used: string[] } {
  const settings: Setting[] = [];
  const used: string[] = [];
  const byte = (n: number) => Buffer.from([n]);
  for (const name of o.names()) {
    if (!line.has(name) && !SPEEDS.has(name)) continue;
    used.push(name);
    if (SPEEDS.has(name)) {
      const rate = Buffer.alloc(4);
      rate.writeUInt32BE(Number(name.slice(1)));
      settings.push({ command: CPO.SET_BAUDRATE, value: rate, what: `baud rate ${name.slice(1)}` });
    } else if (SIZES.includes(name)) settings.push({ command: CPO.SET_DATASIZE, value: byte(Number(name.slice(2))), what: `data size ${name.slice(2)}` });
    else if (name === 'parenb' || name === 'parodd') {
      if (!o.has('parenb')) throw new TsocatError('RFC2217: parodd needs parenb (RFC 2217 sets the parity as one value: parenb=0 none, parenb=1 even, with parodd=1 odd)', 'EOPTVALUE');
      if (name === 'parodd' && settings.some((s) => s.command === CPO.SET_PARITY)) continue;
      const parity = !o.bool('parenb') ? 1 : o.bool('parodd') ? 2 : 3;
      settings.push({ command: CPO.SET_PARITY, value: byte(parity), what: `parity ${['', 'none', 'odd', 'even'][parity]}` });
    } else if (name === 'cstopb') settings.push({ command: CPO.SET_STOPSIZE, value: byte(o.bool('cstopb') ? 2 : 1), what: `${o.bool('cstopb') ? 2 : 1} stop bits` });
    else if (name === 'crtscts') settings.push({ command: CPO.SET_CONTROL, value: byte(o.bool('crtscts') ? 3 : 1), what: o.bool('crtscts') ? 'RTS/CTS flow control' : 'no flow control' });
    else if (name === 'dtr') settings.push({ command: CPO.SET_CONTROL, value: byte(o.bool('dtr') ? 8 : 9), what: `DTR ${o.bool('dtr') ? 'on' : 'off'}` });
    else if (name === 'rts') settings.push({ command: CPO.SET_CONTROL, value: byte(o.bool('rts') ? 11 : 12), what: `RTS ${o.bool('rts') ? 'on' : 'off'}` });
    else throw new TsocatError(`RFC2217: option "${name}" cannot be sent over RFC 2217 (it carries ${RFC2217_SENT.join(', ')})`, 'EOPTGROUP');
  }
  return { settings, used };
}

/** The telnet conversation over a connected socket: negotiation, the settings, then an endpoint. */
export async function rfc2217Endpoint(socket: Socket, settings: Setting[], name: string, mode: AccessMode, log: Logger): Promise<Endpoint> {
  const decoder = new TelnetDecoder();
  const options = new TelnetOptions((bytes) => socket.write(bytes));
  const early: Buffer[] = [];
  let readable: Readable | undefined;
  let agreed: ((ok: boolean) => void) | undefined;
  let answered: ((value: Buffer, command: number) => void) | undefined;
  const onData = (chunk: Buffer) => {
    for (const item of decoder.decode(chunk)) {
      if ('data' in item) {
        if (!readable) early.push(item.data);
        else if (!readable.push(item.data)) socket.pause();
      } else if ('verb' in item) {
        options.negotiate(item.verb, item.option);
        if (item.option === COM_PORT_OPTION) agreed?.(item.verb === DO || item.verb === WILL);
      } else if (item.sub[0] === COM_PORT_OPTION && (item.sub[1] ?? 0) >= SERVER) {
        const command = (item.sub[1] as number) - SERVER;
        if (command === CPO.NOTIFY_LINESTATE || command === CPO.NOTIFY_MODEMSTATE) log.log('I', `${name}: ${command === CPO.NOTIFY_LINESTATE ? 'line' : 'modem'} state 0x${(item.sub[2] ?? 0).toString(16)}`);
        else answered?.(item.sub.subarray(2), command);
      }
    }
  };
  const failed = (what: string) => {
    socket.destroy();
    return new TsocatError(`${name}: ${what}`, 'ERFC2217');
  };
  /** Waits for `arm`'s callback, the connection's end, or the time limit. */
  const waitFor = <T>(arm: (done: (v: T) => void) => void, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(failed(`no ${what} within ${ANSWER_MS / 1000} s`)), ANSWER_MS);
      const gone = () => reject(failed(`the server closed the connection before ${what}`));
      // the socket is half-open (allowHalfOpen): the server's end of data is 'end', not 'close'
      const events = ['end', 'close', 'error'] as const;
      for (const e of events) socket.once(e, gone);
      arm((v) => {
        clearTimeout(timer);
        for (const e of events) socket.off(e, gone);
        resolve(v);
      });
    });
  socket.on('data', onData);
  const agreement = waitFor<boolean>((done) => (agreed = done), 'answer to COM-PORT-OPTION');
  options.offer([BINARY, COM_PORT_OPTION], [BINARY, SGA]);
  if (!(await agreement)) throw failed('the server refused COM-PORT-OPTION (it is no RFC 2217 server)');
  agreed = undefined;
  for (const s of settings) {
    const reply = waitFor<{ value: Buffer; command: number }>((done) => (answered = (value, command) => command === s.command && done({ value, command })), `answer to ${s.what}`);
    socket.write(comPortCommand(s.command, s.value));
    const { value } = await reply;
    if (!value.subarray(0, s.value.length).equals(s.value)) throw failed(`the server refused ${s.what} (it answered ${value.toString('hex') || 'nothing'})`);
    log.log('I', `${name}: ${s.what} set`);
  }
  answered = undefined;
  readable = new Readable({ read: () => void socket.resume() });
  for (const d of early) readable.push(d);
  socket.once('end', () => readable?.push(null));
  socket.once('error', (err) => readable?.destroy(err));
  const writable = new Writable({
    write: (chunk: Buffer, _enc, cb) => void socket.write(escapeIac(chunk), cb),
    final: (cb) => {
      socket.end();
      cb();
    },
  });
  return makeEndpoint({
    readable: mode === 'w' ? undefined : readable,
    writable: mode === 'r' ? undefined : writable,
    description: name,
    shutdownWrite: () => socket.end(),
    close: async () => {
      socket.destroy();
      readable?.destroy();
    },
  });
}
