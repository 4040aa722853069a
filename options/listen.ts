import { TsocatError } from '../src/errors.js';
import { defineOptions } from './catalog.js';

const NO_LIBWRAP = 'not available: tsocat has no libwrap (TCP wrappers); use the range option';

/** Options for listening addresses and their accepted peers. */
export default defineOptions([
  { name: 'ipv6-v6only', aliases: ['ipv6only', 'v6only'], type: 'bool', groups: ['IP6'], phase: 'bind', summary: 'an IPv6 listener takes IPv6 peers only (1) or IPv4 peers too (0, the Linux default)' },
  { name: 'setsockopt-listen', aliases: ['sockopt-listen'], type: 'string', groups: ['LISTEN', 'TCP'], phase: 'bind', summary: 'like setsockopt, set before bind(): on a listener the listening socket itself, on a client the socket before it connects' },
  { name: 'backlog', type: 'int', groups: ['LISTEN'], phase: 'listen', summary: 'length of the queue of pending connections' },
  { name: 'accept-timeout', aliases: ['listen-timeout'], type: 'timeval', groups: ['LISTEN'], phase: 'listen', summary: 'give up when no peer connects within this many seconds' },
  { name: 'fork', type: 'bool', groups: ['CHILD'], phase: 'accept', summary: 'serve each peer in its own session, with a freshly opened second address; on an address that connects, connect again after each connection (interval)' },
  { name: 'max-children', aliases: ['maxchildren'], type: 'int', groups: ['CHILD'], phase: 'accept', summary: 'with fork: serve at most this many peers at once' },
  { name: 'broker', type: 'bool', groups: ['LISTEN'], phase: 'accept', summary: 'with fork: one conversation; what each peer sends goes to every other peer and to address 2 (opened once), never back to the sender' },
  { name: 'chat', type: 'bool', groups: ['LISTEN'], phase: 'accept', summary: 'with broker: each line goes out prefixed with its sender, `<userN> ` (address 2 is user0)' },
  { name: 'broker-buffer', type: 'size', groups: ['LISTEN'], phase: 'accept', summary: 'with broker: bytes queued for one slow member before broker-slow applies (default 1048576)' },
  {
    name: 'broker-slow',
    type: 'string',
    groups: ['LISTEN'],
    phase: 'accept',
    values: ['disconnect', 'drop'],
    check: (value, text) => {
      if (value !== 'disconnect' && value !== 'drop') throw new TsocatError(`${text}: must be disconnect or drop`, 'EOPTVALUE');
    },
    summary: 'with broker: a member whose queue is full is closed (disconnect, the default) or misses what does not fit (drop)',
  },
  { name: 'range', type: 'string', groups: ['RANGE'], phase: 'accept', summary: 'accept only peers from these addresses (addr/bits or addr:mask, comma separated in brackets)' },
  // TCP wrappers: socat calls libwrap's hosts_access(); Node cannot load libwrap, and a partial rewrite of its access language would be a security risk
  { name: 'tcpwrappers', aliases: ['tcpwrap', 'tcpwrapper', 'libwrap', 'wrap'], type: 'string', groups: ['RANGE'], phase: 'accept', summary: 'refused: tsocat has no libwrap (TCP wrappers); use range', unavailable: NO_LIBWRAP },
  { name: 'tcpwrap-etc', aliases: ['tcpwrap-dir'], type: 'filename', groups: ['RANGE'], phase: 'accept', summary: 'refused: tsocat has no libwrap (TCP wrappers)', unavailable: NO_LIBWRAP },
  { name: 'tcpwrap-hosts-allow-table', aliases: ['allow-table', 'hosts-allow'], type: 'filename', groups: ['RANGE'], phase: 'accept', summary: 'refused: tsocat has no libwrap (TCP wrappers)', unavailable: NO_LIBWRAP },
  { name: 'tcpwrap-hosts-deny-table', aliases: ['deny-table', 'hosts-deny'], type: 'filename', groups: ['RANGE'], phase: 'accept', summary: 'refused: tsocat has no libwrap (TCP wrappers)', unavailable: NO_LIBWRAP },
]);
