/**
 * A UDP socket read with recvmsg(), for the options that ask the kernel for
 * ancillary data with each packet (ip-pktinfo, ip-recvttl, ip-recvtos,
 * so-timestamp): node:dgram reads with recvmmsg and drops control messages.
 * The event loop watches the descriptor (src/sys/poll.ts); the object offers
 * the few node:dgram calls the UDP addresses use (message events, send,
 * address, close), each 'message' carrying socat's SOCAT_* variables for it.
 */
import { EventEmitter } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { DescriptorWatch, UV_READABLE } from '../../../sys/poll.js';
import { closeDescriptor, localAddressOf, receive, sendOn } from '../../../sys/sockets.js';
import { inetSockaddr, parseSockaddr } from '../sockaddr.js';

const SOL_IP = 0;
const SOL_SOCKET = 1;
const IP_TOS = 1;
const IP_TTL = 2;
const IP_PKTINFO = 8;
const SCM_TIMESTAMP = 29;
const PACKET_MAX = 65536;
const CONTROL_SIZE = 512;
const READS_PER_TURN = 32;

function interfaceName(index: number): string {
  try {
    for (const name of readdirSync('/sys/class/net')) {
      if (Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8')) === index) return name;
    }
  } catch {
    // no sysfs: the index stands in for the name
  }
  return String(index);
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** socat's SOCAT_TIMESTAMP: ctime()'s local time without its newline, then the microseconds, six digits as socat's %06ld. */
function timestampText(seconds: number, micros: number): string {
  const d = new Date(seconds * 1000);
  const day = String(d.getDate()).padStart(2, ' ');
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${day} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${d.getFullYear()}, ${String(micros).padStart(6, "0")} usecs`;
}

/** The control messages of one packet as socat's variables (without the SOCAT_ prefix). */
export function ancillaryVariables(control: Buffer): Record<string, string> {
  const vars: Record<string, string> = {};
  // struct cmsghdr on 64-bit Linux: size_t len, int level, int type, data, each message 8-byte aligned
  for (let at = 0; at + 16 <= control.length; ) {
    const len = Number(control.readBigUInt64LE(at));
    if (len < 16 || at + len > control.length) break;
    const level = control.readInt32LE(at + 8);
    const type = control.readInt32LE(at + 12);
    const data = control.subarray(at + 16, at + len);
    if (level === SOL_IP && type === IP_PKTINFO && data.length >= 12) {
      vars.IP_LOCADDR = [...data.subarray(4, 8)].join('.');
      vars.IP_DSTADDR = [...data.subarray(8, 12)].join('.');
      vars.IP_IF = interfaceName(data.readInt32LE(0));
    } else if (level === SOL_IP && type === IP_TTL && data.length >= 4) {
      vars.IP_TTL = String(data.readInt32LE(0));
    } else if (level === SOL_IP && type === IP_TOS && data.length >= 1) {
      vars.IP_TOS = String(data.readUInt8(0));
    } else if (level === SOL_SOCKET && type === SCM_TIMESTAMP && data.length >= 16) {
      vars.TIMESTAMP = timestampText(Number(data.readBigInt64LE(0)), Number(data.readBigInt64LE(8)));
    }
    at += (len + 7) & ~7;
  }
  return vars;
}

export interface AncillaryInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
  size: number;
  /** socat's variables for this packet. */
  variables: Record<string, string>;
}

/** A bound UDP descriptor read with recvmsg(); 'message' is (packet, sender with its variables). */
export class AncillaryDatagramSocket extends EventEmitter {
  private readonly watch: DescriptorWatch;
  private readonly buf = Buffer.allocUnsafe(PACKET_MAX);
  private closed = false;

  constructor(private readonly fd: number) {
    super();
    this.watch = new DescriptorWatch(fd, () => this.readSome());
    this.watch.want(UV_READABLE);
  }

  private readSome(): void {
    for (let i = 0; i < READS_PER_TURN && !this.closed; i++) {
      let got: ReturnType<typeof receive>;
      try {
        got = receive(this.fd, this.buf, { from: true, control: CONTROL_SIZE });
      } catch (err) {
        this.emit('error', err);
        return;
      }
      if (!got) return;
      const from = got.from ? parseSockaddr(got.from) : undefined;
      if (!from || (from.family !== 'inet4' && from.family !== 'inet6')) continue;
      const packet = Buffer.from(this.buf.subarray(0, Math.min(got.length, this.buf.length)));
      const info: AncillaryInfo = {
        address: from.address,
        family: from.family === 'inet6' ? 'IPv6' : 'IPv4',
        port: from.port,
        size: packet.length,
        variables: got.control ? ancillaryVariables(got.control) : {},
      };
      this.emit('message', packet, info);
    }
  }

  /** One packet to address:port; a full socket buffer drops it, as the kernel would. */
  send(data: Buffer, port: number, address: string, done?: (err: Error | null) => void): void {
    try {
      sendOn(this.fd, data, inetSockaddr(address, port));
      done?.(null);
    } catch (err) {
      done?.(err as Error);
    }
  }

  address(): { address: string; family: string; port: number } {
    const a = parseSockaddr(localAddressOf(this.fd));
    return a.family === 'inet4' || a.family === 'inet6' ? { address: a.address, family: a.family === 'inet6' ? 'IPv6' : 'IPv4', port: a.port } : { address: '', family: '', port: 0 };
  }

  close(done?: () => void): void {
    if (this.closed) {
      done?.();
      return;
    }
    this.closed = true;
    void this.watch.close().then(() => {
      closeDescriptor(this.fd);
      this.emit('close');
      done?.();
    });
  }
}
