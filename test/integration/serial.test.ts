/**
 * SERIAL (tsocat's own address, on serialport) and serial peers on PTY
 * links: pyserial (no part of tsocat) as the far end of a virtual null-modem,
 * line settings seen by stty, reconnect when the device goes and comes back,
 * --list-serial, and bad input.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backgroundStarter, exited, freePort, PYTHON_WITH_SERIAL, requireOrSkip, stop, tempDir, tsocat, waitFor, waitForPort } from '../helpers.js';
import { flagsOf, sttyOf, testPty, waitForPath } from '../pty-helpers.js';

const start = backgroundStarter();
const dirs: Array<() => void> = [];
afterEach(() => {
  for (const c of dirs.splice(0)) c();
});
function scratch(): string {
  const { dir, cleanup } = tempDir();
  dirs.push(cleanup);
  return dir;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The serial peer: pyserial at 115200 8N1 sends a file and reads as many bytes, concurrently; prints what it got as sha256 and the seconds it took. */
const PYSERIAL_PEER = `
import hashlib, serial, sys, threading, time
port, path = sys.argv[1], sys.argv[2]
data = open(path, 'rb').read()
s = serial.Serial(port, 115200, bytesize=serial.EIGHTBITS, parity=serial.PARITY_NONE, stopbits=serial.STOPBITS_ONE, timeout=0.2)
# opening flushes the port's input (pyserial's reset_input_buffer), so the far side starts sending only now
print('open', flush=True)
got = bytearray()
t0 = time.time()
def reader():
    while len(got) < len(data) and time.time() - t0 < 60:
        got.extend(s.read(65536))
th = threading.Thread(target=reader); th.start()
for i in range(0, len(data), 4096):
    s.write(data[i:i + 4096])
s.flush(); th.join()
print(hashlib.sha256(bytes(got)).hexdigest(), len(got), round(time.time() - t0, 3))
`;

/** Connects, sends `data` once `go` settles, and collects until `expected` bytes came back. */
function tcpBoth(port: number, data: Buffer, expected: number, go: Promise<unknown>): Promise<{ got: Buffer; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    let n = 0;
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      n += d.length;
      if (n >= expected) resolve({ got: Buffer.concat(chunks), socket });
    });
    socket.on('error', reject);
    void go.then(() => socket.write(data));
  });
}

describe('serial peers on a virtual null-modem', () => {
  it('pyserial at 115200 8N1 on one PTY link and a TCP client through SERIAL on the other exchange 1 MB both ways, nothing lost', async (ctx) => {
    requireOrSkip(ctx, 'pyserial');
    const dir = scratch();
    const [l0, l1] = [join(dir, 'ttyV0'), join(dir, 'ttyV1')];
    start([`PTY,link=${l0},raw,echo=0`, `PTY,link=${l1},raw,echo=0`]);
    await waitForPath(l0);
    await waitForPath(l1);
    const port = await freePort();
    const bridge = start(['-d', '-d', `TCP-LISTEN:${port},fork,reuseaddr`, `SERIAL:${l1},b115200,cs8,parenb=0,cstopb=0,raw,echo=0`]);
    await waitForPort(port);
    const fromSerial = randomBytes(1 << 20);
    const fromTcp = randomBytes(1 << 20);
    const file = join(dir, 'data');
    writeFileSync(file, fromSerial);
    const t0 = Date.now();
    let report = '';
    let peerOpen: () => void = () => {};
    const opened = new Promise<void>((resolve) => (peerOpen = resolve));
    const tcp = tcpBoth(port, fromTcp, fromSerial.length, opened);
    await waitFor(() => /starting data transfer/.test(bridge.errors()));
    const peer = spawn(PYTHON_WITH_SERIAL as string, ['-c', PYSERIAL_PEER, l0, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    peer.stdout.on('data', (d: Buffer) => {
      report += d.toString();
      if (report.startsWith('open\n')) peerOpen();
    });
    const [{ got, socket }] = await Promise.all([tcp, new Promise((r) => peer.once('exit', r))]);
    socket.destroy();
    const [peerSha, peerCount, peerSeconds] = report.replace('open\n', '').trim().split(' ');
    console.log(`1 MiB each way through PTY null-modem + SERIAL + TCP: ${(Date.now() - t0) / 1000} s (pyserial side ${peerSeconds} s)`);
    expect(Number(peerCount)).toBe(fromTcp.length);
    expect(peerSha).toBe(sha(fromTcp));
    expect(got.length).toBe(fromSerial.length);
    expect(sha(got)).toBe(sha(fromSerial));
  }, 60000);
});

describe('SERIAL', () => {
  it('relays a pty link to a TCP client; stty -F shows the settings it asked for while it runs', async () => {
    const dir = scratch();
    const link = join(dir, 'ttyS');
    const peerLink = join(dir, 'peer');
    // the far end: a PTY whose slave is the "device" SERIAL opens; what reaches it is written to a file
    const out = join(dir, 'out');
    start(['-u', `PTY,link=${link},raw,echo=0`, `OPEN:${out},creat`]);
    await waitForPath(link);
    const port = await freePort();
    start([`TCP-LISTEN:${port},reuseaddr`, `SERIAL:${link},b115200,raw,echo=0,cstopb,parodd,crtscts`]);
    await waitForPort(port);
    const socket = connect({ port, host: '127.0.0.1' });
    socket.write('over the line\n');
    await waitFor(() => existsSync(out) && readFileSync(out, 'utf8') === 'over the line\n');
    const settings = sttyOf(link);
    expect(settings).toMatch(/speed 115200 baud/);
    for (const flag of ['cstopb', 'parodd', 'crtscts', '-echo', '-icanon']) expect(flagsOf(settings)).toContain(flag);
    socket.destroy();
    expect(existsSync(peerLink)).toBe(false);
  });

  it('reconnect: the device goes away and comes back (a PTY pair recreated), and the relay resumes both ways', async () => {
    const dir = scratch();
    const link = join(dir, 'ttyUSB');
    const out = join(dir, 'out');
    const first = start(['-u', `PTY,link=${link},raw,echo=0`, `OPEN:${out},creat,append`]);
    await waitForPath(link);
    const port = await freePort();
    const relay = start(['-d', '-d', `TCP-LISTEN:${port},reuseaddr`, `SERIAL:${link},b9600,raw,echo=0,reconnect,interval=0.1`]);
    await waitForPort(port);
    const socket = connect({ port, host: '127.0.0.1' });
    const content = () => (existsSync(out) ? readFileSync(out, 'utf8') : '');
    socket.write('before\n');
    await waitFor(() => content() === 'before\n');
    // unplug: the PTY goes, its link with it
    await stop(first);
    await waitFor(() => /line lost/.test(relay.errors()));
    expect(existsSync(link)).toBe(false);
    socket.write('during\n');
    // plug in again: a new pty under the same name, its far end this time a TCP port the test talks through both ways
    const devicePort = await freePort();
    start([`PTY,link=${link},raw,echo=0`, `TCP-LISTEN:${devicePort},reuseaddr`]);
    await waitFor(() => /reopened after \d+ attempt/.test(relay.errors()), 8000);
    await waitForPort(devicePort);
    const device = connect({ port: devicePort, host: '127.0.0.1' });
    let atDevice = '';
    device.on('data', (d: Buffer) => (atDevice += d.toString()));
    let atClient = '';
    socket.on('data', (d: Buffer) => (atClient += d.toString()));
    socket.write('after\n');
    await waitFor(() => atDevice === 'during\nafter\n', 8000, 'the client\'s bytes at the reopened device');
    expect(content()).toBe('before\n');
    // and the reopened line is read: what the device sends reaches the client
    device.write('from the device\n');
    await waitFor(() => atClient === 'from the device\n', 8000, 'the reopened device\'s bytes at the client');
    expect(relay.exitCode).toBe(null);
    expect(sttyOf(link)).toMatch(/speed 9600 baud/);
    device.destroy();
    socket.destroy();
  });

  it('without reconnect the line going away ends the relay (end of input)', async () => {
    const dir = scratch();
    const link = join(dir, 'tty');
    const first = start(['-u', `PTY,link=${link},raw,echo=0`, 'OPEN:/dev/null']);
    await waitForPath(link);
    const relay = start(['-d', '-d', `SERIAL:${link},raw,echo=0`, 'PIPE']);
    await waitFor(() => /starting data transfer/.test(relay.errors()));
    await stop(first);
    // exited() also sees a relay that ended before we asked (a once('exit') listener added late never fires)
    const code = await exited(relay, 20000);
    expect(code).toBe(0);
    expect(relay.errors()).toMatch(/hang-up|EIO/);
  });

  it('--list-serial lists serial devices and does not fail where udev is absent', async () => {
    const r = await tsocat(['--list-serial']);
    expect(r.status).toBe(0);
    for (const line of r.stdout.toString().split('\n').filter(Boolean)) expect(line).toMatch(/^\/dev\//);
  });
});

describe('SERIAL: bad input', () => {
  const pty = () => {
    const p = testPty();
    dirs.push(() => {
      for (const fd of [p.slave, p.master]) {
        try {
          closeSync(fd);
        } catch {
          // closed
        }
      }
    });
    return p;
  };
  it('a missing device', async () => {
    const r = await tsocat(['SERIAL:/dev/ttyNOSUCH0,b9600', '-'], { input: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/E open\("\/dev\/ttyNOSUCH0"\): No such file or directory\n$/);
  });
  it('not a terminal (a regular file)', async () => {
    const file = join(scratch(), 'plain');
    writeFileSync(file, '');
    const r = await tsocat([`SERIAL:${file}`, '-'], { input: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/E SERIAL ".*plain": not a terminal/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
  it('an unknown baud rate', async () => {
    const r = await tsocat(['SERIAL:/dev/ttyS0,b12345', '-'], { input: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/E parseopts_table\(\): unknown option "b12345"/);
  });
  it('a device another SERIAL holds (the exclusive lock)', async () => {
    const p = pty();
    const holder = start(['-d', '-d', `SERIAL:${p.path}`, 'PIPE']);
    await waitFor(() => /starting data transfer/.test(holder.errors()));
    const r = await tsocat([`SERIAL:${p.path}`, '-'], { input: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/E SERIAL ".*": the device is in use/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
  for (const line of ['dtr', 'rts']) {
    it(`modem lines on a pty (which has none): ${line}`, async () => {
      const p = pty();
      const r = await tsocat([`SERIAL:${p.path},${line}=1`, '-'], { input: '' });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`E SERIAL ".*": setting the modem lines \\(${line}\\)`));
    });
  }
  it('a termios option on a socket', async () => {
    const port = await freePort();
    const r = await tsocat([`TCP:127.0.0.1:${port},b9600`, '-'], { input: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/E .*b9600/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
  it('reconnect with a retry that is not a number', async () => {
    const r = await tsocat(['SERIAL:/dev/ttyS0,reconnect,retry=x', '-'], { input: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/E .*retry/);
  });
  it('SERIAL without a device', async () => {
    const r = await tsocat(['SERIAL', '-'], { input: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/E .*SERIAL/);
  });
});
