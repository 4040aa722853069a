/**
 * SERIAL,rfc2217: a serial line served over telnet COM-PORT-OPTION (RFC 2217)
 * behind TCP-LISTEN. The device is a pty whose other end a python process
 * echoes; the clients are pyserial's rfc2217:// (no part of tsocat) and a
 * raw socket that checks the telnet bytes themselves. Settings are read
 * back from the device with stty.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { backgroundStarter, freePort, PYTHON_WITH_SERIAL, requireOrSkip, run, tsocat, waitFor, waitForPort } from '../helpers.js';
import { echoingPty, firstLine, flagsOf, sttyOf } from '../pty-helpers.js';

const start = backgroundStarter();

/**
 * Whether this kernel's ptys keep a parity setting: some refuse PARENB with
 * EINVAL (6.18 on the machines here), others keep it. The parity cases check
 * whichever is true: the setting reaching the pty, or its refusal answered.
 */
const PTY_TAKES_PARITY = (() => {
  const probe = 'import pty, termios\nm, s = pty.openpty()\na = termios.tcgetattr(s)\na[2] |= termios.PARENB\ntry:\n    termios.tcsetattr(s, termios.TCSANOW, a)\n    print(int(bool(termios.tcgetattr(s)[2] & termios.PARENB)))\nexcept OSError:\n    print(0)';
  return spawnSync('python3', ['-c', probe], { encoding: 'utf8' }).stdout.trim() === '1';
})();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill();
});

/** The device: a pty whose master python echoes (stopped after the test). */
async function echoingDevice(): Promise<string> {
  const { device, child } = await echoingPty();
  children.push(child);
  return device;
}

/** The relay under test: one TCP peer at a time gets the line, in telnet. */
async function serve(device: string, extra = ''): Promise<{ port: number; relay: ReturnType<typeof start> }> {
  const port = await freePort();
  const relay = start(['-d', '-d', `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`, `SERIAL:${device},raw,echo=0,rfc2217${extra}`]);
  await waitForPort(port);
  return { port, relay };
}

/**
 * pyserial opens rfc2217://, prints `stty` of the device after opening, changes the
 * speed, prints it again, and sends every byte value (0xFF included) four times, reading them back.
 */
const PYSERIAL_CLIENT = `
import serial, subprocess, sys
url, device = sys.argv[1], sys.argv[2]
stty = lambda: subprocess.run(['stty', '-F', device, '-a'], capture_output=True, text=True).stdout.replace('\\n', ' ')
s = serial.serial_for_url(url, baudrate=19200, stopbits=serial.STOPBITS_TWO, rtscts=True, timeout=3)
print('opened', stty(), flush=True)
s.baudrate = 57600
print('changed', stty(), flush=True)
data = bytes(range(256)) * 4
s.write(data)
got = s.read(len(data))
print('echo', 'same' if got == data else 'differs %d %r' % (len(got), got[:40]), flush=True)
s.close()
`;

/**
 * pyserial's RFC 2217 server (serial.rfc2217.PortManager) on a pty it echoes itself:
 * prints the device and the port, serves one client. A pty has no modem lines, which
 * PortManager reads when a client arrives: they read as off here.
 */
const PYSERIAL_SERVER = `
import os, pty, select, socket, tty, serial, serial.rfc2217
m, s = pty.openpty()
tty.setraw(s)
class NoModem(serial.Serial):
    cts = dsr = ri = cd = property(lambda self: False)
line = NoModem(os.ttyname(s), timeout=0)
srv = socket.socket()
srv.bind(('127.0.0.1', 0))
srv.listen(1)
print(os.ttyname(s), srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
class Out:
    write = staticmethod(conn.sendall)
mgr = serial.rfc2217.PortManager(line, Out())
while True:
    r, _, _ = select.select([conn, line.fileno(), m], [], [])
    if conn in r:
        d = conn.recv(4096)
        if not d: break
        line.write(b''.join(mgr.filter(d)))
    if line.fileno() in r:
        d = line.read(4096)
        if d: conn.sendall(b''.join(mgr.escape(d)))
    if m in r:
        os.write(m, os.read(m, 4096))
`;

describe('SERIAL,rfc2217 with pyserial as the client', () => {
  it('pyserial sets speed, stop bits and RTS/CTS on the pty (seen by stty), changes the speed while open, and every byte value comes back intact', async (ctx) => {
    requireOrSkip(ctx, 'pyserial');
    const device = await echoingDevice();
    const { port, relay } = await serve(device);
    const r = await run(PYTHON_WITH_SERIAL as string, ['-c', PYSERIAL_CLIENT, `rfc2217://127.0.0.1:${port}`, device], { timeoutMs: 20000 });
    expect(r.stderr.toString()).toBe('');
    const [opened, changed, echo] = r.stdout.toString().trim().split('\n');
    expect(opened).toMatch(/^opened speed 19200 baud/);
    for (const flag of ['cstopb', 'crtscts', 'cs8', '-parenb']) expect(flagsOf(opened as string).has(flag), `${flag} in ${opened}`).toBe(true);
    expect(changed).toMatch(/^changed speed 57600 baud/);
    expect(echo).toBe('echo same');
    expect(relay.errors()).toMatch(/N SERIAL ".*": RFC 2217 client set baud rate 57600\n/);
  });

  it(`pyserial asks for even parity: ${PTY_TAKES_PARITY ? 'the pty takes it (stty shows parenb -parodd) and bytes flow' : 'this kernel\'s pty cannot take it, so the answer is the parity it has: pyserial reports the refusal, the line keeps none'}`, async (ctx) => {
    requireOrSkip(ctx, 'pyserial');
    const device = await echoingDevice();
    const { port } = await serve(device);
    const script = `import serial, sys\ntry:\n    p = serial.serial_for_url(sys.argv[1], parity=serial.PARITY_EVEN, timeout=2)\n    p.write(b'even')\n    print('opened', p.read(4).decode())\nexcept Exception as e:\n    print(e)`;
    const r = await run(PYTHON_WITH_SERIAL as string, ['-c', script, `rfc2217://127.0.0.1:${port}`], { timeoutMs: 20000 });
    if (PTY_TAKES_PARITY) {
      expect(r.stdout.toString().trim()).toBe('opened even');
      expect(flagsOf(sttyOf(device)).has('parenb')).toBe(true);
      expect(flagsOf(sttyOf(device)).has('-parodd')).toBe(true);
    } else {
      expect(r.stdout.toString().trim()).toBe("remote rejected value for option 'parity'");
      expect(flagsOf(sttyOf(device)).has('-parenb')).toBe(true);
    }
  });
});

/** Collects what a socket receives until `done(bytes)` says it has enough (at most 5 s: then what came, which the test's comparison names). */
function collect(socket: Socket, done: (got: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.off('data', onData);
      resolve(got);
    }, 5000);
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (done(got)) {
        clearTimeout(timer);
        socket.off('data', onData);
        resolve(got);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

const IAC = 0xff;
const GREETING = Buffer.from([IAC, 251, 0, IAC, 253, 0, IAC, 251, 3, IAC, 251, 44]);

describe('SERIAL,rfc2217 on the wire', () => {
  it('greets with WILL/DO BINARY, WILL SGA, WILL COM-PORT-OPTION; 0xFF is doubled towards the client and undoubled towards the line; SET-BAUDRATE is answered with the speed the line has; FLOWCONTROL-SUSPEND holds the line\'s data until RESUME', async () => {
    const device = await echoingDevice();
    const { port } = await serve(device);
    const socket = connect({ port, host: '127.0.0.1' });
    try {
      const greeting = await collect(socket, (g) => g.length >= GREETING.length);
      expect(greeting).toEqual(GREETING);
      // data 41 ff 42, escaped: the echo comes back escaped the same way
      socket.write(Buffer.from([0x41, IAC, IAC, 0x42]));
      expect(await collect(socket, (g) => g.length >= 4)).toEqual(Buffer.from([0x41, IAC, IAC, 0x42]));
      // SET-BAUDRATE 9600 (00 00 25 80)
      socket.write(Buffer.from([IAC, 250, 44, 1, 0, 0, 0x25, 0x80, IAC, 240]));
      expect(await collect(socket, (g) => g.length >= 10)).toEqual(Buffer.from([IAC, 250, 44, 101, 0, 0, 0x25, 0x80, IAC, 240]));
      expect(sttyOf(device)).toMatch(/^speed 9600 baud/);
      // 12345 baud, which Linux has no constant for, is answered with the rate the line keeps
      socket.write(Buffer.from([IAC, 250, 44, 1, 0, 0, 0x30, 0x39, IAC, 240]));
      expect(await collect(socket, (g) => g.length >= 10)).toEqual(Buffer.from([IAC, 250, 44, 101, 0, 0, 0x25, 0x80, IAC, 240]));
      // FLOWCONTROL-SUSPEND: the line's echo of "xy" waits until FLOWCONTROL-RESUME (whatever the pause, it comes after the answer to resume)
      socket.write(Buffer.from([IAC, 250, 44, 8, IAC, 240]));
      expect(await collect(socket, (g) => g.length >= 6)).toEqual(Buffer.from([IAC, 250, 44, 108, IAC, 240]));
      socket.write('xy');
      await new Promise((r) => setTimeout(r, 300));
      socket.write(Buffer.from([IAC, 250, 44, 9, IAC, 240]));
      expect(await collect(socket, (g) => g.length >= 8)).toEqual(Buffer.concat([Buffer.from([IAC, 250, 44, 109, IAC, 240]), Buffer.from('xy')]));
      // a refused option: DO ECHO is answered WONT ECHO
      socket.write(Buffer.from([IAC, 253, 1]));
      expect(await collect(socket, (g) => g.length >= 3)).toEqual(Buffer.from([IAC, 252, 1]));
    } finally {
      socket.destroy();
    }
  });

  it('without rfc2217 the same bytes reach the line as they are (the greeting is absent, IAC IAC stays two bytes)', async () => {
    const device = await echoingDevice();
    const port = await freePort();
    start([`TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`, `SERIAL:${device},raw,echo=0`]);
    await waitForPort(port);
    const socket = connect({ port, host: '127.0.0.1' });
    try {
      socket.write(Buffer.from([0x41, IAC, IAC, 0x42]));
      expect(await collect(socket, (g) => g.length >= 4)).toEqual(Buffer.from([0x41, IAC, IAC, 0x42]));
    } finally {
      socket.destroy();
    }
  });
});

describe('SERIAL,rfc2217: bad input', () => {
  it('a value that is not a boolean', async () => {
    const r = await tsocat(['SERIAL:/dev/ttyS0,rfc2217=maybe', '-'], { input: '' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/E .*rfc2217.*maybe/);
  });
  it('one direction only (-u): the telnet answers would have nowhere to go', async () => {
    const device = await echoingDevice();
    const r = await tsocat(['-u', `SERIAL:${device},raw,echo=0,rfc2217`, '-'], { input: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/E SERIAL ".*": rfc2217 needs both directions \(the client's commands come in, the answers go out\)\n$/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('RFC2217:<host>:<port>, the client side', () => {
  it("against pyserial's own RFC 2217 server (PortManager, no part of tsocat) on a pty: the settings reach the pty (stty) and 0xFF comes back intact", async (ctx) => {
    requireOrSkip(ctx, 'pyserial');
    const server = spawn(PYTHON_WITH_SERIAL as string, ['-c', PYSERIAL_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(server);
    const [device, port] = (
      await firstLine(server, 'pyserial server')
    ).split(' ') as [string, string];
    const client = start(['-d', '-d', '-d', '-', `RFC2217:127.0.0.1:${port},b57600,cs8,parenb=0,cstopb=1`]);
    const back: Buffer[] = [];
    client.stdout?.on('data', (d: Buffer) => back.push(d));
    client.stdin?.write(Buffer.from([0x61, 0xff, 0x62, 0xff, 0xff]));
    await waitFor(() => Buffer.concat(back).length >= 5, 5000, () => `the echo (got ${Buffer.concat(back).toString('hex')}; the client said: ${client.errors().trim().split('\n').slice(-6).join(' | ')})`);
    expect(Buffer.concat(back)).toEqual(Buffer.from([0x61, 0xff, 0x62, 0xff, 0xff]));
    const stty = sttyOf(device);
    expect(stty).toMatch(/^speed 57600 baud/);
    expect(flagsOf(stty).has('cstopb')).toBe(true);
    expect(client.errors()).toMatch(/I RFC2217 AF=2 127\.0\.0\.1:\d+: 2 stop bits set\n/);
    client.stdin?.end();
  });

  it('sends b57600, cstopb, crtscts to a SERIAL,rfc2217 relay (seen by stty on its pty), and every byte value comes back through the echo', async () => {
    const device = await echoingDevice();
    const { port, relay } = await serve(device);
    const client = start(['-d', '-d', '-d', '-', `RFC2217:127.0.0.1:${port},b57600,cs8,parenb=0,cstopb=1,crtscts=1`]);
    const data = Buffer.from([...Array(256).keys()]);
    const back: Buffer[] = [];
    client.stdout?.on('data', (d: Buffer) => back.push(d));
    client.stdin?.write(data);
    await waitFor(() => Buffer.concat(back).length >= data.length, 5000, 'the echo');
    expect(Buffer.concat(back)).toEqual(data);
    const stty = sttyOf(device);
    expect(stty).toMatch(/^speed 57600 baud/);
    for (const flag of ['cstopb', 'crtscts', 'cs8', '-parenb']) expect(flagsOf(stty).has(flag), flag).toBe(true);
    expect(client.errors()).toMatch(/I RFC2217 AF=2 127\.0\.0\.1:\d+: RTS\/CTS flow control set\n/);
    expect(relay.errors()).toMatch(/N SERIAL ".*": RFC 2217 client set baud rate 57600\n/);
    client.stdin?.end();
  });

  it(`parenb=1: ${PTY_TAKES_PARITY ? 'the server\'s pty takes even parity (stty) and the client goes on' : 'the server answers the parity its pty has, which fails the address: one E line, status 1'}`, async () => {
    const device = await echoingDevice();
    const { port } = await serve(device);
    const r = await tsocat(['-', `RFC2217:127.0.0.1:${port},b57600,parenb=1`], { input: '' });
    if (PTY_TAKES_PARITY) {
      expect([r.status, r.stderr.toString()]).toEqual([0, '']);
      expect(flagsOf(sttyOf(device)).has('parenb')).toBe(true);
    } else {
      expect(r.status).toBe(1);
      expect(r.stderr.toString()).toMatch(/^\S+ \S+ tsocat\[\d+\] E RFC2217 AF=2 127\.0\.0\.1:\d+: the server refused parity even \(it answered 01\)\n$/);
    }
  });

  it('a server that refuses COM-PORT-OPTION, and one that closes at once', async () => {
    const refusing = createServer((s) => s.end(Buffer.from([IAC, 254, 44, IAC, 252, 44])));
    const closing = createServer((s) => s.destroy());
    const servers: Server[] = [refusing, closing];
    try {
      for (const s of servers) await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
      const portOf = (s: Server) => (s.address() as AddressInfo).port;
      const refused = await tsocat(['-', `RFC2217:127.0.0.1:${portOf(refusing)}`], { input: '' });
      expect(refused.status).toBe(1);
      expect(refused.stderr.toString()).toMatch(/E RFC2217 AF=2 127\.0\.0\.1:\d+: the server refused COM-PORT-OPTION \(it is no RFC 2217 server\)\n$/);
      const closed = await tsocat(['-', `RFC2217:127.0.0.1:${portOf(closing)}`], { input: '' });
      expect(closed.status).toBe(1);
      expect(closed.stderr.toString()).toMatch(/E RFC2217 AF=2 127\.0\.0\.1:\d+: the server closed the connection before answer to COM-PORT-OPTION\n$/);
    } finally {
      for (const s of servers) s.close();
    }
  });

  it('a line option RFC 2217 cannot carry, and parodd without parenb, are refused before connecting', async () => {
    const echo = await tsocat(['-', 'RFC2217:127.0.0.1:1,echo=0'], { input: '' });
    expect(echo.status).toBe(1);
    expect(echo.stderr.toString()).toMatch(/E RFC2217: option "echo" cannot be sent over RFC 2217 \(it carries b<rate>, cs5, cs6, cs7, cs8, parenb, parodd, cstopb, crtscts, dtr, rts\)\n$/);
    const odd = await tsocat(['-', 'RFC2217:127.0.0.1:1,parodd=1'], { input: '' });
    expect(odd.status).toBe(1);
    expect(odd.stderr.toString()).toMatch(/E RFC2217: parodd needs parenb .*\n$/);
    expect(odd.stderr.toString().trim().split('\n')).toHaveLength(1);
  });
});
