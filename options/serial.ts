import { defineOptions } from './catalog.js';

/**
 * SERIAL, tsocat's own address for serial lines (on serialport). Line settings
 * are socat's TERMIOS options (b115200, cs8, parenb, cstopb, crtscts, hupcl…);
 * these are the rest.
 */
export default defineOptions([
  { name: 'dtr', type: 'bool', groups: ['SERIAL'], phase: 'late', summary: 'raise (1) or drop (0) the DTR modem line once the device is open' },
  { name: 'rts', type: 'bool', groups: ['SERIAL'], phase: 'late', summary: 'raise (1) or drop (0) the RTS modem line once the device is open' },
]);
