import { INTERFACE_FLAGS } from '../src/engine/tun/interface-flags.js';
import { defineOptions, type OptionDef } from './catalog.js';

const flagRows: OptionDef[] = INTERFACE_FLAGS.map(([name, alias, , meaning]) => ({
  name,
  aliases: alias ? [alias] : undefined,
  type: 'bool',
  groups: ['INTERFACE'],
  phase: 'fd',
  summary: `1 sets, 0 clears the TUN interface's flag ${meaning}`,
}));

/** Linux TUN/TAP interfaces (the TUN address; socat's TUN group is its INTERFACE group). */
export default defineOptions([
  { name: 'tun-device', type: 'filename', groups: ['INTERFACE'], phase: 'open', summary: 'the TUN clone device to open instead of /dev/net/tun' },
  { name: 'tun-name', type: 'string', groups: ['INTERFACE'], phase: 'fd', summary: 'the name the new interface gets (at most 15 bytes) instead of the next free tunN or tapN' },
  { name: 'tun-type', type: 'string', groups: ['INTERFACE'], phase: 'fd', values: ['tun', 'tap'], summary: 'tun (IP packets, the default) or tap (Ethernet frames)' },
  { name: 'iff-no-pi', aliases: ['no-pi', 'tun-no-pi'], type: 'bool', groups: ['INTERFACE'], phase: 'fd', summary: 'IFF_NO_PI: packets without the 4-byte packet information header (flags and protocol) in front' },
  { name: 'interface-mtu', aliases: ['if-mtu'], type: 'uint', groups: ['INTERFACE'], phase: 'late', summary: "the interface's MTU" },
  ...flagRows,
]);
