#!/usr/bin/env node
/**
 * Checks that the three dependencies with prebuilt native binaries load and
 * work on the Node running this script (CI runs it on every supported Node):
 * koffi calls libc, @lydell/node-pty runs a program on a pseudo-terminal, and
 * serialport opens that terminal's slave side as a serial device and reads
 * what the master side writes. Prints one line; exit status 1 on any failure.
 */
import { once } from 'node:events';

const koffi = (await import('koffi')).default;
const libc = koffi.load('libc.so.6');
const getpid = libc.func('int getpid()');
if (getpid() !== process.pid) throw new Error(`koffi: getpid() gave ${getpid()}, process.pid is ${process.pid}`);

const pty = await import('@lydell/node-pty');
// a shell on a pty that prints its terminal's path and then waits, reading nothing, until killed
const term = pty.spawn('/bin/sh', ['-c', 'tty; exec sleep 60'], { cols: 80, rows: 24 });
let out = '';
const slave = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`node-pty: no tty path within 10 s (got ${JSON.stringify(out)})`)), 10_000);
  term.onData((d) => {
    out += d;
    const m = out.match(/\/dev\/pts\/\d+/);
    if (m) {
      clearTimeout(timer);
      resolve(m[0]);
    }
  });
});

const { SerialPort } = await import('serialport');
const port = new SerialPort({ path: slave, baudRate: 115200 });
await once(port, 'open');
// what the master side writes arrives at the slave, opened as a serial device
const got = new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('serialport: nothing read within 10 s')), 10_000);
  let text = '';
  port.on('data', (d) => {
    text += d;
    if (text.includes('ping')) {
      clearTimeout(timer);
      resolve(text);
    }
  });
});
term.write('ping\n');
await got;
port.close();
term.kill();
process.stdout.write(`native modules load on Node ${process.version}: koffi (libc getpid), @lydell/node-pty (${slave}), serialport (read from ${slave})\n`);
process.exit(0);
