/**
 * RFC2217:<host>:<port>: a serial port another machine serves with telnet
 * COM-PORT-OPTION (ser2net, tsocat's SERIAL,rfc2217). The line options
 * (b115200, cs8, parenb, parodd, cstopb, crtscts, dtr, rts) are sent to the
 * server instead of applied here; the server must confirm each.
 */
import { allOptions } from '../options/catalog.js';
import { defineAddress } from '../src/define.js';
import { formatSockaddr } from '../src/engine/sockets/inet.js';
import { refuseSocketChoice } from '../src/engine/sockets/sockopts.js';
import { connectTcpSocket } from '../src/engine/sockets/tcp-connect.js';
import { rfc2217Endpoint, settingsFrom } from '../src/engine/terminals/rfc2217-client.js';

/** Options that describe the line rather than the connection: none of them may reach the socket. */
const LINE_OPTIONS = new Set(allOptions().filter((d) => d.groups.includes('TERMIOS') || d.groups.includes('SERIAL')).map((d) => d.name));

export default defineAddress({
  names: ['RFC2217'],
  params: ['host', 'port'],
  groups: ['FD', 'SOCKET', 'IP4', 'IP6', 'TCP', 'TERMIOS', 'SERIAL', 'RETRY', 'APPL'],
  features: ['TCP', 'SERIAL'],
  summary: 'a remote serial port over telnet COM-PORT-OPTION (RFC 2217): b<rate>, cs5-cs8, parenb, parodd, cstopb, crtscts, dtr, rts are sent to the server, which must confirm each',
  async open(req, ctx) {
    refuseSocketChoice(req.options, req.keyword);
    const { settings, used } = settingsFrom(req.options, LINE_OPTIONS);
    const socket = await connectTcpSocket({ ...req, options: req.options.without(...used) }, ctx, req.params[0] as string, req.params[1] as string);
    return rfc2217Endpoint(socket, settings, `RFC2217 ${formatSockaddr(socket.remoteAddress, socket.remotePort)}`, req.mode, ctx.log);
  },
});
