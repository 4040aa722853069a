/**
 * SERIAL:<device>: tsocat's own address for serial lines, on serialport.
 * socat reaches a serial device through GOPEN (`/dev/ttyS0,b9600,raw`), which
 * still works; SERIAL adds serialport's exclusive lock, the modem lines
 * (dtr, rts) and `reconnect` for devices that come and go (USB adapters).
 */
import { defineAddress } from '../src/define.js';
import { serialEndpoint } from '../src/engine/terminals/serial-line.js';

export default defineAddress({
  names: ['SERIAL'],
  params: ['device'],
  groups: ['FD', 'TERMIOS', 'SERIAL', 'RETRY', 'APPL'],
  features: ['SERIAL'],
  summary: "a serial line (serialport): socat's TERMIOS options for the line settings, dtr/rts, reconnect when the device comes back",
  open: (req, ctx) => serialEndpoint(req.params[0] as string, req.mode, req.options, ctx.log, ctx.signal),
});
