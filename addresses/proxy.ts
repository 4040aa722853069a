/** PROXY: reach <hostname>:<port> through an HTTP proxy's CONNECT method. */
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { defineAddress } from '../src/define.js';
import { handshakeOver, sendRequest } from '../src/engine/handshakes/handshake-reader.js';
import { connectWithReconnect } from '../src/engine/opening/reconnect.js';
import { chooseFamily, familyFromEnv, formatSockaddr, parsePort, resolveHost, unbracket } from '../src/engine/sockets/inet.js';
import { connectRequest, proxyAnswerParser, requestLine, sanitize } from '../src/engine/handshakes/proxy-protocol.js';
import { socketEndpoint } from '../src/engine/sockets/socket-endpoint.js';
import { strerror, TsocatError, type SystemError } from '../src/errors.js';
import type { ResolvedOptions } from '../options/catalog.js';

const DEFAULT_PROXY_PORT = '8080';

/**
 * user:password from proxy-authorization, or the whole of the file proxy-authorization-file names: socat sends
 * the file's bytes as they are, a final newline included (its test.sh PROXYAUTHFILE checks for it), so a file
 * meant for it is written without one (`printf 'user:pw' >file`).
 */
function credentials(o: ResolvedOptions): string | undefined {
  const inline = o.string('proxy-authorization');
  const file = o.string('proxy-authorization-file');
  if (inline !== undefined && file !== undefined) throw new TsocatError('Only one of options proxy-authorization and proxy-authorization-file allowed', 'EOPTVALUE');
  if (file === undefined) return inline;
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new TsocatError(`open("${file}", O_RDONLY): ${strerror(err as SystemError)}`, (err as SystemError).code ?? 'EOPEN');
  }
}

function checkHttpVersion(version: string): string {
  if (version !== '1.0' && version !== '1.1') throw new TsocatError(`http-version="${version}": only 1.0 and 1.1 are known`, 'EOPTVALUE');
  return version;
}

export default defineAddress({
  listed: ['PROXY-CONNECT'],
  names: ['PROXY', 'PROXY-CONNECT'],
  params: ['proxy', 'hostname', 'port'],
  groups: ['FD', 'SOCKET', 'IP4', 'IP6', 'TCP', 'HTTP', 'CHILD', 'RETRY', 'RECONNECT', 'APPL'],
  features: ['PROXY'],
  summary: 'connect to <hostname>:<port> through the HTTP proxy <proxy> (CONNECT method, port option proxyport)',
  async open(req, ctx) {
    const o = req.options;
    const [proxy, hostText, portText] = req.params as [string, string, string];
    const httpVersion = checkHttpVersion(o.string('http-version') ?? '1.0');
    const auth = credentials(o);
    const proxyPort = o.string('proxyport') ?? DEFAULT_PROXY_PORT;
    let host = unbracket(hostText);
    const port = parsePort(portText, host);
    // resolve: the proxy is asked for an address, not a name (socat's default leaves the name to the proxy)
    if (o.bool('proxy-resolve')) host = await resolveHost(host, portText, chooseFamily(0, host, ctx.settings.preferredFamily || familyFromEnv('SOCAT_PREFERRED_RESOLVE_IP'), o.string('pf')), o);
    const target = `${isIPv6(host) ? `[${host}]` : host}:${port}`;
    ctx.log.log('N', `opening connection to ${target} via proxy ${proxy}:${proxyPort}`);
    const request = { target, httpVersion, credentials: auth };
    const peer = `proxy ${proxy}:${proxyPort}`;
    // reconnect: each new connection asks the proxy to CONNECT again
    const connect = async () => {
      const socket = await handshakeOver(req, ctx, { host: proxy, port: proxyPort, peer }, async (s, reader) => {
        ctx.log.log('I', `sending "${requestLine(request)}\\r\\n"${auth === undefined ? '' : ' with a Proxy-Authorization header'}`);
        await sendRequest(s, connectRequest(request), peer);
        const answer = await reader.read('CONNECT answer', proxyAnswerParser(requestLine(request), o.bool('ignorecr')));
        ctx.log.log('I', `proxy_connect: received answer "${sanitize(answer.statusLine)}"`);
        for (const header of answer.headers) ctx.log.log('I', `proxy_connect: received header "${sanitize(header)}"`);
      });
      ctx.log.log('N', `successfully connected to ${target} via proxy ${proxy}:${proxyPort}`);
      return socketEndpoint(socket, `PROXY ${formatSockaddr(socket.remoteAddress, socket.remotePort)} to ${target}`, req.mode);
    };
    return connectWithReconnect(connect, o, ctx);
  },
});
