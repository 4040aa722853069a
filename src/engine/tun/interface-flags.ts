/**
 * The interface flags socat sets on a TUN interface (SIOCSIFFLAGS): name,
 * socat's short alias (none for two), the IFF_* bit of linux/if.h, and what
 * the flag means. iff-dynamic is tsocat's own: socat 1.8's row for it is
 * commented out (docs/differences.md).
 */
export const INTERFACE_FLAGS: ReadonlyArray<readonly [string, string | undefined, number, string]> = [
  ['iff-up', 'up', 0x1, 'UP: the interface is up (without it the interface exists but carries nothing)'],
  ['iff-broadcast', undefined, 0x2, 'BROADCAST: a broadcast address is valid'],
  ['iff-debug', undefined, 0x4, 'DEBUG: the driver may log debugging information'],
  ['iff-loopback', 'loopback', 0x8, 'LOOPBACK: the interface is a loopback one'],
  ['iff-pointopoint', 'pointopoint', 0x10, 'POINTOPOINT: a point-to-point link'],
  ['iff-notrailers', 'notrailers', 0x20, 'NOTRAILERS: avoid trailers'],
  ['iff-running', 'running', 0x40, 'RUNNING: resources allocated'],
  ['iff-noarp', 'noarp', 0x80, 'NOARP: no ARP on the interface'],
  ['iff-promisc', 'promisc', 0x100, 'PROMISC: receive every packet'],
  ['iff-allmulti', 'allmulti', 0x200, 'ALLMULTI: receive every multicast packet'],
  ['iff-master', 'master', 0x400, 'MASTER: master of a load balancer'],
  ['iff-slave', 'slave', 0x800, 'SLAVE: slave of a load balancer'],
  ['iff-multicast', 'multicast', 0x1000, 'MULTICAST: supports multicast'],
  ['iff-portsel', 'portsel', 0x2000, 'PORTSEL: can set the media type'],
  ['iff-automedia', 'automedia', 0x4000, 'AUTOMEDIA: chooses its media type itself'],
  ['iff-dynamic', 'dynamic', 0x8000, 'DYNAMIC: addresses are lost when the interface goes down (not in socat 1.8)'],
];
