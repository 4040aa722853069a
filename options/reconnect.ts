import { defineOptions } from './catalog.js';

/** tsocat's own: an address that outlives its connection or device (src/engine/opening/reconnect.ts, SERIAL's line). */
export default defineOptions([
  {
    name: 'reconnect',
    type: 'bool',
    groups: ['SERIAL', 'RECONNECT'],
    phase: 'late',
    summary:
      "tsocat's own: when the connection drops (TCP, UNIX-CONNECT, OPENSSL, PROXY, SOCKS4/4A, SOCKS5: the whole connect, proxy request or TLS handshake included) or the device goes away (SERIAL), connect or reopen again with the same settings instead of ending, while the other address stays open; interval (doubling, at most 30 s) and retry bound the waiting",
  },
  {
    name: 'reconnect-buffer',
    type: 'size',
    ctype: 'size_t',
    groups: ['RECONNECT'],
    phase: 'late',
    summary: "tsocat's own: bytes written while a reconnecting address is disconnected are kept, up to this many (default 65536), and sent first once it is back; 0 drops them. What does not fit is dropped and logged",
  },
]);
