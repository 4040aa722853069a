import { defineOptions } from './catalog.js';

/**
 * SERIAL, tsocat's own address for serial lines (on serialport). Line settings
 * are socat's TERMIOS options (b115200, cs8, parenb, cstopb, crtscts, hupcl…);
 * these are the rest.
 */
export default defineOptions([
  { name: 'dtr', type: 'bool', groups: ['SERIAL'], phase: 'late', summary: 'raise (1) or drop (0) the DTR modem line once the device is open' },
  {
    name: 'rfc2217',
    type: 'bool',
    groups: ['SERIAL'],
    phase: 'late',
    summary:
      "tsocat's own: the line speaks telnet with RFC 2217's COM-PORT-OPTION to the other address (a TCP-LISTEN peer such as pyserial's rfc2217:// client): 0xFF data bytes doubled both ways, the client sets speed, data size, parity, stop bits, flow control and DTR/RTS, and hears of modem-line changes",
  },
  { name: 'rts', type: 'bool', groups: ['SERIAL'], phase: 'late', summary: 'raise (1) or drop (0) the RTS modem line once the device is open' },
]);
