/**
 * The -D descriptor analysis: before the transfer starts, one line per
 * descriptor in use on stderr — type, device, inode, mode, owner, size,
 * times, fcntl flags, and for pipes and sockets what the kernel says about
 * them — laid out as socat 1.8's filan does (tab-separated, a header first),
 * so output can be compared side by side. It goes to stderr whatever -lf says,
 * as socat's does. It only reads; nothing found here stops tsocat.
 */
import { fstatSync, type Stats, writeSync } from 'node:fs';
import { inspect } from '../sys/libc.js';

const HEADER =
  '  FD  type\tdevice\tinode\tmode\tlinks\tuid\tgid\trdev\tsize\tblksize\tblocks\tatime\t\t\t\tmtime\t\t\t\tctime\t\t\t\tcloexec\tflags\tsigown\tsigio\n';

// Linux fcntl commands and poll bits (x86_64 and aarch64 agree)
const F_GETFD = 1;
const F_GETFL = 3;
const F_GETOWN = 9;
const F_GETSIG = 11;
const F_GETPIPE_SZ = 1032;
const POLL = { IN: 0x1, PRI: 0x2, OUT: 0x4, ERR: 0x8, NVAL: 0x20 };
// everything socat asks poll() about: IN, PRI, OUT, RDNORM, RDBAND, WRNORM, WRBAND, MSG
const POLL_ASKED = 0x1 | 0x2 | 0x4 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400;
const SOL_SOCKET = 1;
const IPPROTO_TCP = 6;
/** The socket-level options shown, in socat's order (a subset: the ones that describe the socket, not every knob). */
const SOCKET_OPTIONS: Array<[string, number]> = [
  ['REUSEADDR', 2], ['PROTOCOL', 38], ['TYPE', 3], ['ERROR', 4], ['SNDBUF', 7], ['RCVBUF', 8], ['KEEPALIVE', 9], ['LINGER', 13], ['REUSEPORT', 15],
];
const TCP_OPTIONS: Array<[string, number]> = [['TCP_NODELAY', 1], ['TCP_MAXSEG', 2]];

const FILE_TYPES = new Map<number, string>([
  [0o010000, 'pipe'], [0o020000, 'chrdev'], [0o040000, 'dir'], [0o060000, 'blkdev'], [0o100000, 'file'], [0o120000, 'symlink'], [0o140000, 'socket'],
]);
const S_IFMT = 0o170000;

let headerPrinted = false;

/** C's asctime(localtime(t)) without the newline: `Wed Nov 25 15:52:12 2026`. */
function asctime(date: Date): string {
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][date.getDay()];
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][date.getMonth()];
  const two = (n: number) => String(n).padStart(2, '0');
  return `${day} ${month} ${String(date.getDate()).padStart(2, ' ')} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())} ${date.getFullYear()}`;
}

/** A device number the way filan splits it: high byte, low byte. */
function device(dev: number): string {
  return `${(dev >> 8) & 0xffff},${dev & 0xff}`;
}

/** socat's sockaddr_info: `AF=2 127.0.0.1:80`, `AF=10 [0000:…:0001]:80`, `AF=1 "/path"`. */
export function describeSockaddr(sa: Buffer): string {
  const family = sa.length >= 2 ? sa.readUInt16LE(0) : 0;
  if (family === 2 && sa.length >= 8) return `AF=2 ${[...sa.subarray(4, 8)].join('.')}:${sa.readUInt16BE(2)}`;
  if (family === 10 && sa.length >= 24) {
    const groups = Array.from({ length: 8 }, (_, i) => sa.readUInt16BE(8 + 2 * i).toString(16).padStart(4, '0'));
    return `AF=10 [${groups.join(':')}]:${sa.readUInt16BE(2)}`;
  }
  if (family === 1 || family === 0) {
    const path = sa.subarray(2);
    const end = path[0] === 0 ? path.length : path.indexOf(0);
    return `AF=1 "${path.subarray(0, end < 0 ? path.length : end).toString()}"`;
  }
  return `AF=${family} 0x${sa.subarray(2, 16).toString('hex')}`;
}

function socketPart(fd: number): string {
  let out = '';
  for (const [name, code] of SOCKET_OPTIONS) {
    const v = inspect.sockopt(fd, SOL_SOCKET, code);
    out += v === undefined ? '\t' : v.length === 1 ? `${name}=${v[0]}\t` : `${name}={${v[0]},${v[1]}}\t`;
  }
  const local = inspect.sockaddr(fd, 'local');
  if (!local) return out;
  out += `\t${describeSockaddr(local)}`;
  const peer = inspect.sockaddr(fd, 'peer');
  if (peer) out += ` <-> ${describeSockaddr(peer)}\t`;
  const family = local.readUInt16LE(0);
  if (family === 2 || family === 10) {
    for (const [name, code] of TCP_OPTIONS) {
      const v = inspect.sockopt(fd, IPPROTO_TCP, code);
      if (v !== undefined) out += `\t${name}=${v[0]}`;
    }
  }
  return out;
}

/** What poll() says right now: `poll: IN(FIONREAD=3),OUT`. */
function pollPart(fd: number): string {
  const revents = inspect.poll(fd, POLL_ASKED);
  if (revents === undefined) return '';
  const parts: string[] = [];
  if (revents & POLL.IN) {
    const waiting = inspect.bytesReadable(fd);
    parts.push(waiting === undefined ? 'IN' : `IN(FIONREAD=${waiting})`);
  }
  if (revents & POLL.PRI) parts.push('PRI');
  if (revents & POLL.OUT) parts.push('OUT');
  if (revents & POLL.ERR) parts.push('ERR');
  if (revents & POLL.NVAL) parts.push('NVAL');
  return `\tpoll: ${parts.join(',')}`;
}

/** One descriptor's line, or undefined when it is not open. */
export function describeFd(fd: number): string | undefined {
  let st: Stats;
  try {
    st = fstatSync(fd);
  } catch {
    return undefined;
  }
  const type = FILE_TYPES.get(st.mode & S_IFMT) ?? 'undef';
  const times = [st.atime, st.mtime, st.ctime].map((t) => `\t${asctime(t)}`).join('');
  const num = (cmd: number) => inspect.fcntl(fd, cmd) ?? -1;
  let line =
    `${String(fd).padStart(4, ' ')}: ${type}\t${device(st.dev)}\t${st.ino}\t0${st.mode.toString(8)}\t${st.nlink}\t${st.uid}\t${st.gid}` +
    `\t${device(st.rdev)}\t${st.size}\t${st.blksize}\t${st.blocks}${times}` +
    `\t${num(F_GETFD)}\tx${(num(F_GETFL) >>> 0).toString(16).padStart(6, '0')}\t${num(F_GETOWN)}\t${num(F_GETSIG)}`;
  if (type === 'pipe') line += `\tF_GETPIPE_SZ=${num(F_GETPIPE_SZ)}`;
  else if (type === 'socket') line += socketPart(fd);
  return line + pollPart(fd);
}

/**
 * Prints the analysis of each address's read and write descriptors (a
 * descriptor used both ways once), the header once per process as socat does.
 */
export function printDescriptorAnalysis(addresses: ReadonlyArray<{ read?: number; write?: number }>): void {
  let text = '';
  if (!headerPrinted) {
    text += HEADER;
    headerPrinted = true;
  }
  for (const { read, write } of addresses) {
    for (const fd of read === write ? [read] : [read, write]) {
      if (fd === undefined) continue;
      const line = describeFd(fd);
      if (line !== undefined) text += `${line}\n`;
    }
  }
  try {
    writeSync(2, text);
  } catch {
    // stderr gone: nothing to report to
  }
}
