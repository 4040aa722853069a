/**
 * INTERFACE: raw packets, link-level header included, on a network
 * interface (Linux AF_PACKET; root or CAP_NET_RAW). Each message is one frame:
 * what is read was received on the interface, what is written is sent out
 * on it as it is. Packets the host itself sends are left out, as socat asks
 * the kernel (PACKET_IGNORE_OUTGOING).
 */
import { defineAddress } from '../src/define.js';
import { preparedSocket, protocolFamily, refuseOptions, socketTypeOf } from '../src/engine/sockets/generic-socket.js';
import { rawSocketEndpoint } from '../src/engine/sockets/messages/raw-socket.js';
import { TsocatError } from '../src/errors.js';
import { interfaceIndex, SOCK_RAW } from '../src/sys/sockets.js';

const AF_PACKET = 17;
const ETH_P_ALL = 0x0003;
const SOL_PACKET = 263;
const PACKET_IGNORE_OUTGOING = 23;

/** struct sockaddr_ll for "every protocol on this interface". */
function linkSockaddr(family: number, ifindex: number): Buffer {
  const addr = Buffer.alloc(20);
  addr.writeUInt16LE(family, 0);
  addr.writeUInt16BE(ETH_P_ALL, 2);
  addr.writeInt32LE(ifindex, 4);
  return addr;
}

export default defineAddress({
  names: ['INTERFACE', 'IF'],
  params: ['interface'],
  groups: ['FD', 'SOCKET', 'APPL'],
  features: ['INTERFACE'],
  summary: 'raw frames, link-level header included, on network <interface> (Linux AF_PACKET; root)',
  async open(req, ctx) {
    const o = req.options;
    const name = req.params[0] as string;
    refuseOptions(o, ['bind', 'connect-timeout', 'so-protocol'], 'INTERFACE');
    const ifindex = interfaceIndex(name);
    if (ifindex === 0) throw new TsocatError(`unknown interface "${name}"`, 'ENODEV');
    const family = o.has('pf') ? protocolFamily(o.string('pf') as string) : AF_PACKET;
    const link = linkSockaddr(family, ifindex);
    // the protocol is ETH_P_ALL in network byte order, as socket(7) of packet sockets wants it
    const fd = await preparedSocket(family, socketTypeOf(o, SOCK_RAW), ETH_P_ALL << 8, o, link);
    try {
      const sys = await import('../src/sys/libc.js');
      sys.setIntSockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
    } catch (err) {
      ctx.log.log('W', `setsockopt(${fd}, SOL_PACKET, PACKET_IGNORE_OUTGOING, {1}): ${(err as Error).message}`);
    }
    ctx.log.log('N', `sending and receiving frames on interface ${name} (index ${ifindex})`);
    return rawSocketEndpoint(fd, { nullEof: req.options.bool('null-eof'), message: true, halfClose: false, sendTo: link, mode: req.mode, description: `INTERFACE ${name}` });
  },
});
