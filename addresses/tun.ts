/**
 * TUN[:<if-addr>/<bits>]: makes a Linux TUN (or, with tun-type=tap, TAP)
 * network interface and serves its "wire side": each packet the system sends
 * through the interface is one message read here, each message written here
 * is one packet the system receives on it. iff-up brings the interface up.
 */
import { defineAddress } from '../src/define.js';
import { applyFdOptions } from '../src/engine/descriptors/fdopts.js';
import { createTunInterface, tunPlan } from '../src/engine/tun/tun-interface.js';
import { tunEndpoint } from '../src/engine/tun/tun-endpoint.js';
import { closeDescriptor } from '../src/sys/sockets.js';

export default defineAddress({
  names: ['TUN'],
  params: ['if-addr/bits'],
  minParams: 0,
  syntax: '[:<if-addr>/<bits>]',
  groups: ['FD', 'INTERFACE', 'APPL'],
  features: ['TUN'],
  summary: 'a new TUN/TAP network interface (Linux; root), optionally with address and netmask; one packet per message',
  async open(req, ctx) {
    const o = req.options;
    const plan = tunPlan(req.params[0], o);
    const netns = o.string('netns');
    const create = () => createTunInterface(plan, req.mode, ctx.log);
    const { fd, name } = netns === undefined ? create() : (await import('../src/sys/netns.js')).inNetworkNamespace(netns, ctx.log, create);
    try {
      await applyFdOptions(fd, o, { signal: ctx.signal, log: ctx.log });
    } catch (err) {
      closeDescriptor(fd);
      throw err;
    }
    return tunEndpoint(fd, req.mode, `TUN ${name}`);
  },
});
