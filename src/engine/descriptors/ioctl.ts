/**
 * socat's generic ioctl options: ioctl-void=<request> calls ioctl(fd, request, NULL);
 * ioctl-int, ioctl-intp, ioctl-bin and ioctl-string take `<request>:<value>` and pass
 * the value as an int, a pointer to an int, a pointer to dalan bytes, or a pointer
 * to a NUL-terminated string. Values are checked when the address is parsed and
 * read again when the options are applied.
 */
import { parseCTyped, type ResolvedOptions } from '../../../options/catalog.js';
import { TsocatError } from '../../errors.js';
import { parseDalan } from './dalan.js';

export type IoctlValueKind = 'int' | 'intp' | 'bin' | 'string';

interface IoctlCall {
  request: number;
  arg: null | number | Buffer;
  /** The argument as socat's error line shows it. */
  shown: string;
}

/** The pointed-to int of ioctl-intp, in host byte order. */
function intBytes(value: number): Buffer {
  const buf = Buffer.alloc(4);
  if (value < 0) buf.writeInt32LE(value);
  else buf.writeUInt32LE(value >>> 0);
  return buf;
}

/** Splits and reads `<request>:<value>` as socat reads it, with socat's wording for each fault. */
export function parseIoctlValue(kind: IoctlValueKind, text: string, optionText: string): IoctlCall {
  const name = optionText.split('=')[0] as string;
  const colon = text.indexOf(':');
  const requestText = colon < 0 ? text : text.slice(0, colon);
  const request = parseCTyped(requestText, optionText, 'uint'); // the kernel reads the request as an unsigned int
  if (colon < 0) throw new TsocatError(`parseopts(): option "${name}": 2 arguments required`, 'EOPTVALUE');
  const rest = text.slice(colon + 1);
  switch (kind) {
    case 'int': {
      const value = parseCTyped(rest, optionText, 'int');
      return { request, arg: value, shown: `0x${(value >>> 0).toString(16)}` };
    }
    case 'intp': {
      const value = parseCTyped(rest, optionText, 'int');
      return { request, arg: intBytes(value), shown: `{${value}}` };
    }
    case 'bin': {
      let bytes: Buffer;
      try {
        bytes = parseDalan(rest);
      } catch {
        throw new TsocatError(`parseopts_table(): problem with "${rest}" data`, 'EOPTVALUE');
      }
      return { request, arg: bytes, shown: `{0x${bytes.toString('hex')}}` };
    }
    case 'string':
      return { request, arg: Buffer.from(`${rest}\0`, 'latin1'), shown: `"${rest}"` };
  }
}

const VALUE_OPTIONS: IoctlValueKind[] = ['int', 'intp', 'bin', 'string'];

/** True when any ioctl option is given, so the caller loads the system-call layer only then. */
export function wantsIoctl(options: ResolvedOptions): boolean {
  return options.has('ioctl-void') || VALUE_OPTIONS.some((kind) => options.has(`ioctl-${kind}`));
}

/** Calls each ioctl option on the descriptor (socat's PH_FD); a failing call is fatal, as in socat. */
export async function applyIoctls(fd: number, options: ResolvedOptions): Promise<void> {
  const { genericIoctl } = await import('../../sys/libc.js');
  const request = options.number('ioctl-void');
  if (request !== undefined) genericIoctl(fd, request, null, `ioctl(${fd}, 0x${request.toString(16)}, NULL)`);
  for (const kind of VALUE_OPTIONS) {
    const text = options.string(`ioctl-${kind}`);
    if (text === undefined) continue;
    const call = parseIoctlValue(kind, text, `ioctl-${kind}=${text}`);
    genericIoctl(fd, call.request, call.arg, `ioctl(${fd}, 0x${call.request.toString(16)}, ${call.shown})`);
  }
}
