/**
 * The PROXY protocol on tsocat's addresses: `proxy-protocol-send=v1|v2` puts a
 * header describing address 1's connection in front of a TCP or OPENSSL
 * connection; `proxy-protocol` on TCP-LISTEN reads one from each peer, and the
 * client it names is then the peer (range, log lines, SOCAT_PEERADDR…).
 */
import { isIPv6, type Socket, SocketAddress } from 'node:net';
import { TsocatError } from '../../errors.js';
import type { AddressRequest, OpenContext } from '../context.js';
import { type Endpoint, makeEndpoint } from '../endpoint.js';
import { environmentAddress, formatSockaddr, unbracket } from '../sockets/inet.js';
import { parseRange } from '../sockets/ip-range.js';
import { socketEndpoint } from '../sockets/socket-endpoint.js';
import type { PeerEndpoint } from '../sockets/tcp-listener.js';
import { HandshakeReader, sendRequest } from './handshake-reader.js';
import { encodeProxyHeader, type ProxiedConnection, parseProxyHeader } from './proxy-header.js';

/** Address 1's connection as SOCAT_PEERADDR… tell it (the client is the source, the address it reached the destination). */
function firstConnection(info: Record<string, string> | undefined): ProxiedConnection {
  // the variables spell IPv6 in full; the header gets the short form HAProxy itself sends
  const short = (address: string) => (isIPv6(address) ? new SocketAddress({ address, family: 'ipv6' }).address : address);
  const end = (address: string | undefined, port: string | undefined) => (address && port ? { address: short(unbracket(address)), port: Number(port) } : undefined);
  return { source: end(info?.PEERADDR, info?.PEERPORT), destination: end(info?.SOCKADDR, info?.SOCKPORT) };
}

/** proxy-protocol-send: writes the header first thing on a connected socket (before TLS, as a load balancer does). */
export async function sendProxyHeader(socket: Socket, req: AddressRequest, ctx: OpenContext): Promise<void> {
  const version = req.options.string('proxy-protocol-send');
  if (version === undefined) return;
  const header = encodeProxyHeader(version === 'v2' ? 2 : 1, firstConnection(ctx.connectionInfo));
  if (ctx.log.enabled('I')) ctx.log.log('I', `sending PROXY protocol ${version} header (${header.length} bytes)`);
  await sendRequest(socket, header, `PROXY protocol header to ${formatSockaddr(socket.remoteAddress, socket.remotePort)}`);
}

/**
 * TCP-LISTEN's peers with proxy-protocol: each becomes usable (Endpoint.ready)
 * once its header is read; the client it names must pass `range`. The endpoint's
 * streams are the socket's, taken over once the header's bytes are gone from it.
 */
export async function proxiedPeers(req: AddressRequest, ctx: OpenContext): Promise<PeerEndpoint> {
  const text = req.options.string('range');
  const range = text === undefined ? undefined : await parseRange(text);
  return (socket) => {
    const via = formatSockaddr(socket.remoteAddress, socket.remotePort);
    let inner: Endpoint | undefined;
    const endpoint = makeEndpoint({
      description: `TCP ${via}`,
      shutdownWrite: () => inner?.shutdownWrite(),
      close: async () => {
        if (inner) await inner.close();
        else socket.destroy();
      },
    });
    endpoint.ready = (async () => {
      const whose = `PROXY protocol header from ${via}`;
      const reader = new HandshakeReader(socket, whose);
      const header = await reader.read('it', parseProxyHeader).catch((err: TsocatError) => {
        throw err.code === 'EPROXYHEADER' ? new TsocatError(`${whose}: ${err.message}`, err.code) : err;
      });
      reader.finish();
      const client = header.source;
      if (client) {
        const name = formatSockaddr(client.address, client.port);
        if (range && !range.check(client.address)) {
          throw new TsocatError(`refusing connection from ${name} (via ${via}) due to range option`, 'ERANGE');
        }
        ctx.log.log('N', `PROXY protocol v${header.version} header from ${via}: client ${name}`);
        endpoint.description = `TCP ${name}`;
        endpoint.connectionInfo = {
          ...endpoint.connectionInfo,
          PEERADDR: environmentAddress(client.address),
          PEERPORT: String(client.port),
          ...(header.destination ? { SOCKADDR: environmentAddress(header.destination.address), SOCKPORT: String(header.destination.port) } : {}),
        };
      } else {
        ctx.log.log('N', `PROXY protocol v${header.version} header from ${via}: no client named (UNKNOWN or LOCAL), the connection's own addresses stay`);
      }
      inner = socketEndpoint(socket, endpoint.description, req.mode);
      const { readable, source, writable, kernelFd, handOver } = inner;
      Object.assign(endpoint, { readable, source, writable, kernelFd, handOver });
    })();
    // the session reports a refused header; unheard it would be an unhandled rejection
    endpoint.ready.catch(() => {});
    return endpoint;
  };
}
