/**
 * SOCKS4, SOCKS4A and SOCKS5 clients: connect to a SOCKS server over TCP and
 * have it connect on to <host>:<port> (SOCKS5-LISTEN: have it listen for one
 * peer). Our own small client: every byte from the server goes through the
 * bounded parsers of src/engine/handshakes/socks-protocol.ts.
 */
import type { Socket } from 'node:net';
import type { ResolvedOptions } from '../options/catalog.js';
import { type AddressRequest, defineAddress } from '../src/define.js';
import type { OpenContext } from '../src/engine/context.js';
import { type HandshakeReader, handshakeOver, sendRequest } from '../src/engine/handshakes/handshake-reader.js';
import { connectWithReconnect } from '../src/engine/opening/reconnect.js';
import { formatSockaddr, parsePort, resolveHost, unbracket } from '../src/engine/sockets/inet.js';
import { socketEndpoint } from '../src/engine/sockets/socket-endpoint.js';
import {
  SOCKS5_BIND,
  SOCKS5_CONNECT,
  SOCKS5_NO_AUTH,
  SOCKS5_USER_PASS,
  socks4ReplyParser,
  socks4Request,
  socks5AuthParser,
  socks5AuthRequest,
  socks5Hello,
  socks5MethodParser,
  socks5ReplyParser,
  socks5Request,
} from '../src/engine/handshakes/socks-protocol.js';
import { TsocatError } from '../src/errors.js';

const GROUPS = ['FD', 'SOCKET', 'IP4', 'IP6', 'TCP', 'SOCKS', 'CHILD', 'RETRY', 'APPL'] as const;
/** The connecting ones: reconnect asks the server again for a new connection to the same target. */
const CONNECT_GROUPS = [...GROUPS, 'RECONNECT'] as const;
/** socat asks getservbyname("socks") and falls back to this. */
const DEFAULT_SOCKS_PORT = '1080';

interface Hop {
  server: string;
  serverPort: string;
  host: string;
  port: number;
  portText: string;
}

function socks4Hop(req: AddressRequest): Hop {
  const [server, hostText, portText] = req.params as [string, string, string];
  const host = unbracket(hostText);
  return { server, serverPort: req.options.string('socksport') ?? DEFAULT_SOCKS_PORT, host, port: parsePort(portText, host), portText };
}

/** socat 1.8's two forms: <server>:<host>:<port> (port from socksport) or <server>:<server-port>:<host>:<port>. */
function socks5Hop(req: AddressRequest): Hop {
  const p = req.params;
  const [server, serverPort, hostText, portText] = (p.length === 4 ? p : [p[0], req.options.string('socksport') ?? DEFAULT_SOCKS_PORT, p[1], p[2]]) as [string, string, string, string];
  const host = unbracket(hostText);
  return { server, serverPort, host, port: parsePort(portText, host), portText };
}

/** Connects to the SOCKS server and runs `talk` over it, within connect-timeout (handshakeOver). */
function viaServer(req: AddressRequest, ctx: OpenContext, hop: Hop, talk: (socket: Socket, reader: HandshakeReader, peer: string) => Promise<void>): Promise<Socket> {
  const peer = `socks server ${hop.server}:${hop.serverPort}`;
  return handshakeOver(req, ctx, { host: hop.server, port: hop.serverPort, peer }, (socket, reader) => talk(socket, reader, peer));
}

function socks4User(o: ResolvedOptions): string {
  return o.string('socksuser') ?? process.env.LOGNAME ?? process.env.USER ?? 'anonymous';
}

const socks4 = defineAddress({
  listed: ['SOCKS4', 'SOCKS4A'],
  names: ['SOCKS4', 'SOCKS', 'SOCKS4A'],
  params: ['socks-server', 'host', 'port'],
  groups: CONNECT_GROUPS,
  features: ['SOCKS4', 'SOCKS4A'],
  summary: 'connect to <host>:<port> through a SOCKS4 server (SOCKS4A: the server resolves <host>; port option socksport)',
  async open(req, ctx) {
    const o = req.options;
    if (o.has('sockspass')) throw new TsocatError('parseopts_table(): option "sockspass" not supported with this address type', 'EOPTGROUP');
    const hop = socks4Hop(req);
    const v4a = req.keyword === 'SOCKS4A';
    const user = socks4User(o);
    // SOCKS4 carries an IPv4 address only: the name is resolved here; SOCKS4A hands it to the server
    const ipv4 = v4a ? undefined : await resolveHost(hop.host, hop.portText, 4, o);
    ctx.log.log('N', `opening connection to ${hop.host}:${hop.port} via socks4${v4a ? 'a' : ''} server ${hop.server}:${hop.serverPort} as user "${user}"`);
    const connect = async () => {
      const socket = await viaServer(req, ctx, hop, async (s, reader, peer) => {
        const request = socks4Request({ port: hop.port, ipv4, hostname: v4a ? hop.host : undefined, user });
        await sendRequest(s, request, peer);
        ctx.log.log('I', 'waiting for socks reply');
        await reader.read('socks4 reply', socks4ReplyParser((m) => ctx.log.log('W', m)));
      });
      ctx.log.log('N', 'successfully connected via socks4');
      return socketEndpoint(socket, `SOCKS4 ${formatSockaddr(socket.remoteAddress, socket.remotePort)} to ${hop.host}:${hop.port}`, req.mode);
    };
    return connectWithReconnect(connect, req.options, ctx);
  },
});

/** The SOCKS5 greeting and, when socksuser/sockspass ask for it, username/password authentication. */
async function socks5Greeting(o: ResolvedOptions, ctx: OpenContext, socket: Socket, reader: HandshakeReader, peer: string): Promise<void> {
  let user = o.string('socksuser');
  const password = o.string('sockspass');
  if (password !== undefined && user === undefined) {
    user = process.env.USER ?? 'anonymous';
    ctx.log.log('W', `SOCKS5 password without username, falling back to "${user}"`);
  }
  if (user !== undefined && password === undefined) ctx.log.log('W', 'SOCKS5 username without password');
  const withPassword = user !== undefined && password !== undefined;
  const offered = withPassword ? [SOCKS5_NO_AUTH, SOCKS5_USER_PASS] : [SOCKS5_NO_AUTH];
  const hello = socks5Hello(withPassword);
  ctx.log.log('I', `sending SOCKS5 client hello version=5 nmethods=${offered.length}`);
  ctx.log.log('D', `sending SOCKS5 client hello ${hello.toString('hex')}`);
  await sendRequest(socket, hello, peer);
  const method = await reader.read('SOCKS5 server hello', socks5MethodParser(offered));
  ctx.log.log('I', `SOCKS5 server chose authentication method ${method}`);
  if (method !== SOCKS5_USER_PASS) return;
  // the password goes on the wire only: no log line at any level shows it
  ctx.log.log('I', `sending SOCKS5 user-pass authentication for user "${user}"`);
  ctx.log.log('D', `sending SOCKS5 auth request "${user}":****`);
  await sendRequest(socket, socks5AuthRequest(user as string, password as string), peer);
  await reader.read('SOCKS5 authentication result', socks5AuthParser(user as string));
  ctx.log.log('N', 'SOCKS5 authentication succeeded');
}

const socks5 = defineAddress({
  listed: ['SOCKS5-CONNECT'],
  names: ['SOCKS5-CONNECT', 'SOCKS5'],
  params: ['socks-server', 'socks-port', 'target-host', 'target-port'],
  minParams: 3,
  syntax: ':<socks-server>[:<socks-port>]:<target-host>:<target-port>',
  groups: CONNECT_GROUPS,
  features: ['SOCKS5'],
  summary: 'connect to <target-host>:<target-port> through a SOCKS5 server (<socks-port> or option socksport; socksuser/sockspass authenticate)',
  async open(req, ctx) {
    const hop = socks5Hop(req);
    ctx.log.log('N', `opening connection to ${hop.host}:${hop.port} via SOCKS5 server ${hop.server}:${hop.serverPort}`);
    const connect = async () => {
      const socket = await viaServer(req, ctx, hop, async (s, reader, peer) => {
        await socks5Greeting(req.options, ctx, s, reader, peer);
        await sendRequest(s, socks5Request(SOCKS5_CONNECT, hop.host, hop.port), peer);
        ctx.log.log('I', 'reading SOCKS5 reply');
        const reply = await reader.read('SOCKS5 reply', socks5ReplyParser());
        ctx.log.log('I', `SOCKS5 server connected from ${reply.address}:${reply.port}`);
      });
      ctx.log.log('N', `successfully connected to ${hop.host}:${hop.port} via SOCKS5 server ${hop.server}:${hop.serverPort}`);
      return socketEndpoint(socket, `SOCKS5 ${formatSockaddr(socket.remoteAddress, socket.remotePort)} to ${hop.host}:${hop.port}`, req.mode);
    };
    return connectWithReconnect(connect, req.options, ctx);
  },
});

/**
 * SOCKS5-LISTEN: the server's BIND command. Its first reply tells where it
 * listens (logged, as socat does), its second that a peer connected; from
 * then on the connection to the server is the connection to that peer.
 */
const socks5Listen = defineAddress({
  names: ['SOCKS5-LISTEN', 'SOCKS5-BIND'],
  params: ['socks-server', 'socks-port', 'listen-host', 'listen-port'],
  minParams: 3,
  syntax: ':<socks-server>[:<socks-port>]:<listen-host>:<listen-port>',
  groups: GROUPS,
  features: ['SOCKS5'],
  summary: 'have a SOCKS5 server listen on <listen-host>:<listen-port> (BIND) and relay its one peer',
  async open(req, ctx) {
    const hop = socks5Hop(req);
    const socket = await viaServer(req, ctx, hop, async (s, reader, peer) => {
      await socks5Greeting(req.options, ctx, s, reader, peer);
      await sendRequest(s, socks5Request(SOCKS5_BIND, hop.host, hop.port), peer);
      const bound = await reader.read('SOCKS5 reply', socks5ReplyParser());
      ctx.log.log('N', `SOCKS5 server listening on ${bound.address}:${bound.port}`);
      const connected = await reader.read('second SOCKS5 reply', socks5ReplyParser());
      ctx.log.log('N', `SOCKS5 server accepted a connection from ${connected.address}:${connected.port}`);
    });
    return socketEndpoint(socket, `SOCKS5-LISTEN ${formatSockaddr(socket.remoteAddress, socket.remotePort)}`, req.mode);
  },
});

export default [socks4, socks5, socks5Listen];
