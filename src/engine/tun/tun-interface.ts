/**
 * Makes a Linux TUN/TAP interface as socat's TUN address does: opens the
 * clone device, names and types the interface (TUNSETIFF), gives it the
 * address and netmask of `<if-addr>/<bits>` (SIOCSIFADDR, SIOCSIFNETMASK),
 * sets or clears its flags (SIOCGIFFLAGS, SIOCSIFFLAGS) and its MTU
 * (SIOCSIFMTU; socat asks rtnetlink, the kernel does the same). Everything is
 * synchronous, so netns can wrap it whole (src/sys/netns.ts).
 */
import { closeSync, constants, openSync } from 'node:fs';
import { INTERFACE_FLAGS } from './interface-flags.js';
import type { ResolvedOptions } from '../../../options/catalog.js';
import { systemError, TsocatError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { genericIoctl } from '../../sys/libc.js';
import { AF_INET, closeDescriptor, interfaceIndex, openSocket, SOCK_DGRAM } from '../../sys/sockets.js';
import type { AccessMode } from '../endpoint.js';

// linux/if_tun.h and linux/sockios.h (the same on x86_64 and aarch64)
const TUNSETIFF = 0x400454ca;
const IFF_TUN = 0x0001;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const SIOCSIFADDR = 0x8916;
const SIOCSIFNETMASK = 0x891c;
const SIOCSIFMTU = 0x8922;
/** struct ifreq: a 16-byte name, then a 24-byte union (flags, a sockaddr, the MTU). */
const IFREQ_SIZE = 40;
const IFNAMSIZ = 16;
const O_CLOEXEC = 0o2000000;

/** `<if-addr>/<bits>` read: the address and the netmask, both in network byte order. */
export interface TunNetwork {
  address: Buffer;
  netmask: Buffer;
}

/** What the TUN address asks for, read and checked before anything is opened. */
export interface TunPlan {
  device: string;
  name: string;
  flags: number;
  network?: TunNetwork;
  setFlags: number;
  clearFlags: number;
  mtu?: number;
}

/** Reads `<if-addr>/<bits>` with socat's error lines; the address must be numeric here (docs/differences.md). */
export function parseTunNetwork(text: string): TunNetwork {
  const slash = text.indexOf('/');
  if (slash < 0) throw new TsocatError(`xioparsenetwork_ip4("${text}",,): missing netmask delimiter`, 'EUSAGE');
  const bitsText = text.slice(slash + 1);
  if (!/^\d+$/.test(bitsText)) throw new TsocatError(`not a valid IPv4 netmask in "${text}"`, 'EUSAGE');
  const bits = Number(bitsText);
  if (bits > 32) throw new TsocatError(`IPv4 netmask "${text}" is too large`, 'EUSAGE');
  const host = text.slice(0, slash);
  const parts = host.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new TsocatError(`xioparsenetwork_ip4("${text}",,): "${host}" is not a numeric IPv4 address`, 'EUSAGE');
  }
  const netmask = Buffer.alloc(4);
  netmask.writeUInt32BE(bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);
  return { address: Buffer.from(parts.map(Number)), netmask };
}

/** The TUN address's options and parameter as one plan; a value tsocat cannot use is refused here. */
export function tunPlan(param: string | undefined, o: ResolvedOptions): TunPlan {
  const type = o.string('tun-type') ?? 'tun';
  if (type !== 'tun' && type !== 'tap') throw new TsocatError(`unknown tun-type "${type}"`, 'EUSAGE');
  const name = o.string('tun-name') ?? '';
  if (Buffer.byteLength(name) >= IFNAMSIZ) throw new TsocatError(`tun-name "${name}" is longer than ${IFNAMSIZ - 1} bytes (IFNAMSIZ)`, 'EUSAGE');
  let setFlags = 0;
  let clearFlags = 0;
  for (const [option, , bit] of INTERFACE_FLAGS) {
    if (!o.has(option)) continue;
    if (o.bool(option)) setFlags |= bit;
    else clearFlags |= bit;
  }
  return {
    device: o.string('tun-device') ?? '/dev/net/tun',
    name,
    flags: (type === 'tap' ? IFF_TAP : IFF_TUN) | (o.bool('iff-no-pi') ? IFF_NO_PI : 0),
    network: param === undefined ? undefined : parseTunNetwork(param),
    setFlags,
    clearFlags,
    mtu: o.number('interface-mtu'),
  };
}

function ifreq(name: string): Buffer {
  const req = Buffer.alloc(IFREQ_SIZE);
  req.write(name, 0, IFNAMSIZ - 1, 'latin1');
  return req;
}

/** An ifreq whose union holds a struct sockaddr_in with `address`. */
function ifreqAddress(name: string, address: Buffer): Buffer {
  const req = ifreq(name);
  req.writeUInt16LE(AF_INET, 16);
  address.copy(req, 20);
  return req;
}

/**
 * The kernel changes only some flags (UP, PROMISC, ALLMULTI, DEBUG, NOTRAILERS,
 * NOARP, MULTICAST, PORTSEL, AUTOMEDIA, DYNAMIC) and leaves the others as the
 * driver has them, without an error. socat goes on regardless; tsocat reads the
 * flags back and refuses an iff-* option whose flag did not become what it asked.
 */
function refuseUntaken(name: string, plan: TunPlan, now: number): void {
  for (const [option, , bit] of INTERFACE_FLAGS) {
    const wanted = plan.setFlags & bit ? bit : plan.clearFlags & bit ? 0 : undefined;
    if (wanted === undefined || (now & bit) === wanted) continue;
    throw new TsocatError(`"${name}": ${option}=${wanted ? 1 : 0}: the kernel left the flag ${wanted ? 'cleared' : 'set'} (flags now 0x${now.toString(16)})`, 'EUSAGE');
  }
}

const dotted = (b: Buffer) => [...b].join('.');

function openFlagsFor(mode: AccessMode): number {
  const access = mode === 'r' ? constants.O_RDONLY : mode === 'w' ? constants.O_WRONLY : constants.O_RDWR;
  return access | constants.O_NONBLOCK | O_CLOEXEC;
}

/** Sets the address, netmask, flags and MTU of interface `name` through a socket made for it. */
function configure(name: string, plan: TunPlan, log: Logger): void {
  const sock = openSocket(AF_INET, SOCK_DGRAM, 0);
  try {
    if (plan.network) {
      const { address, netmask } = plan.network;
      genericIoctl(sock, SIOCSIFADDR, ifreqAddress(name, address), `ioctl(${sock}, SIOCSIFADDR, {"${name}", "${dotted(address)}"}`);
      genericIoctl(sock, SIOCSIFNETMASK, ifreqAddress(name, netmask), `ioctl(${sock}, SIOCSIFNETMASK, {"${name}", "${dotted(netmask)}"}`);
    }
    const req = ifreq(name);
    genericIoctl(sock, SIOCGIFFLAGS, req, `ioctl(${sock}, SIOCGIFFLAGS, {"${name}"}`);
    const had = req.readUInt16LE(16);
    log.log('D', `"${name}": system set flags: 0x${had.toString(16)}`);
    const merged = (had | plan.setFlags) & ~plan.clearFlags & 0xffff;
    req.writeUInt16LE(merged, 16);
    genericIoctl(sock, SIOCSIFFLAGS, req, `ioctl(${sock}, SIOCSIFFLAGS, {"${name}", ${merged}}`);
    log.log('D', `"${name}": xio merged flags: 0x${merged.toString(16)}`);
    req.writeUInt16LE(0, 16);
    genericIoctl(sock, SIOCGIFFLAGS, req, `ioctl(${sock}, SIOCGIFFLAGS, {"${name}"}`);
    const now = req.readUInt16LE(16);
    log.log('D', `"${name}": resulting flags: 0x${now.toString(16)}`);
    refuseUntaken(name, plan, now);
    if (plan.mtu !== undefined) {
      const index = interfaceIndex(name);
      log.log('I', `Setting interface ${index} MTU to ${plan.mtu}`);
      const mtuReq = ifreq(name);
      mtuReq.writeInt32LE(plan.mtu | 0, 16);
      try {
        genericIoctl(sock, SIOCSIFMTU, mtuReq, 'SIOCSIFMTU');
      } catch (err) {
        const why = (err as Error).message.replace(/^SIOCSIFMTU: /, '');
        throw new TsocatError(`xio_netlink_mtu(index=${index}, mtu=${plan.mtu}): rtnetlink: ${why}`, 'ESYS');
      }
    }
  } finally {
    closeDescriptor(sock);
  }
}

/** Opens the clone device and makes the interface; answers its descriptor (non-blocking) and its name. */
export function createTunInterface(plan: TunPlan, mode: AccessMode, log: Logger): { fd: number; name: string } {
  log.log('N', 'creating tunnel network interface');
  const flags = openFlagsFor(mode);
  let fd: number;
  try {
    fd = openSync(plan.device, flags);
  } catch (err) {
    // socat's line shows the access mode only: O_NONBLOCK and O_CLOEXEC are tsocat's own
    throw systemError(`open("${plan.device}", 0${(flags & 3).toString(8)}, 0666)`, err);
  }
  try {
    const req = ifreq(plan.name);
    req.writeUInt16LE(plan.flags, 16);
    genericIoctl(fd, TUNSETIFF, req, `ioctl(${fd}, TUNSETIFF, {"${plan.name}"}`);
    const name = req.toString('latin1', 0, IFNAMSIZ).replace(/\0.*$/s, '');
    log.log('N', `TUN: new device "${name}"`);
    configure(name, plan, log);
    return { fd, name };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
