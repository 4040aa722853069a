/** TCP-LISTEN, TCP4-LISTEN, TCP6-LISTEN: accept peers on <port>; with fork, any number of them. */
import { lookup } from 'node:dns/promises';
import { BlockList, createServer, isIP, isIPv6, type Server } from 'node:net';
import type { ResolvedOptions } from '../options/catalog.js';
import { defineAddress } from '../src/define.js';
import { acceptQueue } from '../src/engine/accept-queue.js';
import { AF_INET, AF_INET6, chooseFamily, familyFromEnv, formatSockaddr, parseHostPort, parsePort, resolveHost, sockaddrBytes, unbracket } from '../src/engine/inet.js';
import { descriptorOf, setRawSockopt } from '../src/engine/sockopts.js';
import { strerror, TsocatError, type SystemError } from '../src/errors.js';

const GROUPS = ['FD', 'SOCKET', 'IP4', 'IP6', 'TCP', 'LISTEN', 'CHILD', 'RANGE', 'RETRY', 'APPL'] as const;

/** socat's range: `addr/bits` or `addr:mask`, IPv6 in brackets, a host name for addr; several may be given comma-separated. */
export async function parseRange(text: string): Promise<BlockList> {
  const list = new BlockList();
  for (const part of text.replace(/^\{|\}$/g, '').split(/\s*[, ]\s*/).filter(Boolean)) {
    const m = part.match(/^(\[[^\]]+\]|[^/:]+)(?:\/(\d+)|:([\d.]+))?$/);
    if (!m) throw new TsocatError(`range option: invalid address range "${part}"`, 'EOPTVALUE');
    let addr = unbracket(m[1] as string);
    if (!isIP(addr)) {
      try {
        addr = (await lookup(addr, { family: m[3] !== undefined ? 4 : 0 })).address;
      } catch {
        throw new TsocatError(`range option: invalid address range "${part}"`, 'EOPTVALUE');
      }
    }
    const type = isIPv6(addr) ? 'ipv6' : 'ipv4';
    let bits = m[2] !== undefined ? Number(m[2]) : type === 'ipv6' ? 128 : 32;
    if (m[3] !== undefined) bits = m[3].split('.').reduce((n, octet) => n + (Number(octet) >>> 0).toString(2).replace(/0/g, '').length, 0);
    try {
      list.addSubnet(addr, bits, type);
    } catch {
      throw new TsocatError(`range option: invalid address range "${part}"`, 'EOPTVALUE');
    }
  }
  return list;
}

/**
 * A listener's bind is a host only, as in socat: an unbracketed IPv6 literal is
 * an address, and "host:port" is looked up whole as a name (and so fails as in
 * socat) rather than having its port dropped.
 */
function bindHost(o: ResolvedOptions): string {
  const text = o.string('bind');
  if (text === undefined || isIP(text)) return text ?? '';
  const { host, port } = parseHostPort(text);
  return port !== undefined ? text : (host ?? '');
}

function listenHost(family: 4 | 6, o: ResolvedOptions): string {
  return bindHost(o) || (family === 6 ? '::' : '0.0.0.0');
}

/**
 * ipv6-v6only exists only on IPv6 sockets. socat refuses it on TCP4-LISTEN
 * (not in that address's option groups) and fails setting it on a TCP-LISTEN
 * that turned out IPv4; tsocat says the same instead of ignoring it.
 */
function refuseV6onlyOnIPv4(ipv4Keyword: boolean, value: boolean): never {
  if (ipv4Keyword) throw new TsocatError('parseopts_table(): option "ipv6-v6only" not supported with this address type', 'EOPTGROUP');
  throw new TsocatError(`setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, {${value ? 1 : 0}}): Protocol not available`, 'ENOPROTOOPT');
}

/**
 * A listening socket bound by tsocat itself, when Node's own would be wrong:
 * so-reuseport must be set before bind(), and libuv always sets SO_REUSEADDR,
 * which reuseaddr=0 turns off. Undefined when Node's listen() does what is asked
 * (socat 1.8 sets SO_REUSEADDR on TCP listeners unless told otherwise, as libuv does).
 */
async function selfBoundSocket(address: string, port: number, o: ResolvedOptions): Promise<number | undefined> {
  const reuseAddrOff = o.has('so-reuseaddr') && !o.bool('so-reuseaddr');
  if (!o.bool('so-reuseport') && !reuseAddrOff) return undefined;
  const { boundTcpSocket } = await import('../src/sys/libc.js');
  const v6only = isIPv6(address) && o.has('ipv6-v6only') ? o.bool('ipv6-v6only') : undefined;
  return boundTcpSocket(isIPv6(address) ? AF_INET6 : AF_INET, sockaddrBytes(address, port), formatSockaddr(address, port), {
    reuseAddr: reuseAddrOff ? undefined : 1,
    reusePort: o.bool('so-reuseport'),
    v6only,
  });
}

export default defineAddress({
  listed: ['TCP-LISTEN', 'TCP4-LISTEN', 'TCP6-LISTEN'],
  names: ['TCP-LISTEN', 'TCP-L', 'TCP4-LISTEN', 'TCP4-L', 'TCP6-LISTEN', 'TCP6-L', 'INET-LISTEN', 'INET-L', 'INET4-LISTEN', 'INET4-L', 'INET6-LISTEN', 'INET6-L'],
  params: ['port'],
  groups: GROUPS,
  features: ['TCP', 'LISTEN', 'IP4', 'IP6'],
  summary: 'TCP server: listen on <port>, accept one peer (or one session per peer with fork)',
  async open(req, ctx) {
    const o = req.options;
    const port = parsePort(req.params[0] as string, '');
    const keywordFamily = /^(TCP|INET)4/.test(req.keyword) ? 4 : /^(TCP|INET)6/.test(req.keyword) ? 6 : 0;
    const bindText = bindHost(o);
    // -0 with nothing else deciding: [::], which takes IPv4 peers too on Linux
    const eitherFamily = ctx.settings.anyFamily && !keywordFamily && !bindText && !o.has('pf') ? 6 : 0;
    const family = chooseFamily(keywordFamily, bindText, eitherFamily || ctx.settings.preferredFamily || familyFromEnv('SOCAT_DEFAULT_LISTEN_IP'), o.string('pf'));
    if (o.has('ipv6-v6only') && family === 4) refuseV6onlyOnIPv4(keywordFamily === 4, o.bool('ipv6-v6only'));
    // connecting is not what a listener does; socat 1.7 says so, rather than ignore the option
    if (o.has('connect-timeout')) throw new TsocatError('applyopts(): option "connect-timeout" does not apply', 'EOPTAPPLY');
    // resolved here so a name that does not resolve is reported as socat does, before anything is bound
    const host = await resolveHost(listenHost(family, o), 'NULL', family);
    const range = o.has('range') ? await parseRange(o.string('range') as string) : undefined;

    const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
    const accepted = acceptQueue(server, o, range, req.mode, ctx);

    const selfBound = await selfBoundSocket(host, port, o);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: SystemError) => {
        reject(new TsocatError(`bind(${formatSockaddr(host, port)}): ${strerror(err)}`, err.code ?? 'EBIND'));
      });
      const backlog = o.number('backlog') ?? 511;
      if (selfBound === undefined) server.listen({ port, host, backlog, ipv6Only: o.bool('ipv6-v6only') }, () => resolve());
      else server.listen({ fd: selfBound, backlog }, () => resolve());
    });
    const listenOpt = o.string('setsockopt-listen');
    const listenFd = descriptorOf(server);
    if (listenOpt !== undefined && listenFd !== undefined) {
      try {
        await setRawSockopt(listenFd, 'setsockopt-listen', listenOpt);
      } catch (err) {
        server.close();
        throw err;
      }
    }
    const addr = server.address();
    const bound = typeof addr === 'object' && addr ? formatSockaddr(addr.address, addr.port) : String(addr);
    ctx.log.startRunning('starting accept loop');
    ctx.log.log('N', `listening on ${bound}`);

    return accepted.listener(`TCP-LISTEN ${bound}`, 'TCP');
  },
});
