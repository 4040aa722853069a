/**
 * res-nsaddr (with res-retry, res-retrans): an address's names are asked of
 * the DNS server it names, not of /etc/resolv.conf's (socat's test.sh
 * RES_NSADDR). The server here is a real DNS responder on loopback, made by
 * the test: it answers every A question with 127.0.0.1 and records the names
 * it was asked, or stays silent when told to.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { tsocat } from '../helpers.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** The name a DNS question asks for (labels from offset 12), and where the question ends. */
function question(packet: Buffer): { name: string; end: number; type: number } {
  const labels: string[] = [];
  let at = 12;
  for (let n = 0; n < 64 && (packet[at] ?? 0) !== 0; n++) {
    const len = packet[at] as number;
    labels.push(packet.subarray(at + 1, at + 1 + len).toString('latin1'));
    at += 1 + len;
  }
  return { name: labels.join('.'), end: at + 5, type: packet.readUInt16BE(at + 1) };
}

/** A DNS responder on 127.0.0.1: every A question gets 127.0.0.1 (TTL 60), others an empty answer; `silent` answers nothing. */
async function dnsServer(silent = false): Promise<{ port: number; asked: string[]; askedAt: number[]; recursionDesired: boolean[] }> {
  const socket: UdpSocket = createSocket('udp4');
  const asked: string[] = [];
  const askedAt: number[] = [];
  const recursionDesired: boolean[] = [];
  socket.on('message', (packet, from) => {
    const q = question(packet);
    asked.push(q.name);
    askedAt.push(performance.now());
    recursionDesired.push(((packet[2] as number) & 1) === 1);
    if (silent) return;
    const answer = q.type === 1 ? Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]) : Buffer.alloc(0);
    const header = Buffer.from([packet[0] as number, packet[1] as number, 0x81, 0x80, 0, 1, 0, answer.length ? 1 : 0, 0, 0, 0, 0]);
    socket.send(Buffer.concat([header, packet.subarray(12, q.end), answer]), from.port, from.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  cleanups.push(() => socket.close());
  return { port: socket.address().port, asked, askedAt, recursionDesired };
}

/** A TCP server on 127.0.0.1 that greets each client and closes. */
async function greeter(): Promise<number> {
  const server: Server = createServer((c) => c.end('hello from the server\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => server.close());
  return (server.address() as { port: number }).port;
}

describe('res-nsaddr: names through the address\'s own DNS server', () => {
  it('TCP4 to a name only that server knows: it is asked, and the connection reaches the address it answered', async () => {
    const dns = await dnsServer();
    const port = await greeter();
    const r = await tsocat(['-u', `TCP4:only-here.tsocat.invalid:${port},res-nsaddr=127.0.0.1:${dns.port}`, '-']);
    expect(r.stderr).toBe('');
    expect(r.stdout.toString()).toBe('hello from the server\n');
    expect(r.status).toBe(0);
    expect(dns.asked).toContain('only-here.tsocat.invalid');
  });

  it('without it the system resolver is asked, which does not know the name: socat\'s getaddrinfo line, status 1', async () => {
    const port = await greeter();
    const r = await tsocat(['-u', `TCP4:only-here.tsocat.invalid:${port}`, '-']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^\\S+ \\S+ tsocat\\[\\d+\\] E getaddrinfo\\("only-here.tsocat.invalid", "${port}", \\{\\}\\): (Name or service not known|Temporary failure in name resolution)\\n$`));
  });

  it('UDP4-SENDTO sends to the address the server gave (its alias dns=)', async () => {
    const dns = await dnsServer();
    const receiver = createSocket('udp4');
    cleanups.push(() => receiver.close());
    const got = new Promise<string>((r) => receiver.once('message', (m) => r(m.toString())));
    await new Promise<void>((r) => receiver.bind(0, '127.0.0.1', () => r()));
    const r = await tsocat(['-u', '-', `UDP4-SENDTO:udp-peer.tsocat.invalid:${receiver.address().port},dns=127.0.0.1:${dns.port}`], { input: 'datagram\n' });
    expect(r.status).toBe(0);
    expect(await got).toBe('datagram\n');
    expect(dns.asked).toContain('udp-peer.tsocat.invalid');
  });

  it('/etc/hosts answers first, as with socat: localhost never reaches the server', async () => {
    const dns = await dnsServer();
    const port = await greeter();
    const r = await tsocat(['-u', `TCP4:localhost:${port},res-nsaddr=127.0.0.1:${dns.port}`, '-']);
    expect(r.stdout.toString()).toBe('hello from the server\n');
    expect(dns.asked).toEqual([]);
  });

  it('res-retrans is the wait for an answer: a silent server fails the lookup after 1 s with retrans=1, after 3 s with retrans=3 (one try each)', async () => {
    const dns = await dnsServer(true);
    // from the question's arrival to tsocat's exit: the wait for the answer, not tsocat's start (up to a second under load)
    const timed = async (retrans: number) => {
      const before = dns.askedAt.length;
      const r = await tsocat(['-u', `TCP4:silent.tsocat.invalid:80,res-nsaddr=127.0.0.1:${dns.port},res-retry=1,res-retrans=${retrans}`, '-']);
      const ended = performance.now();
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/E getaddrinfo\("silent.tsocat.invalid", "80", \{\}\): Temporary failure in name resolution\n$/);
      expect(dns.askedAt.length).toBe(before + 1);
      return (ended - (dns.askedAt[before] as number)) / 1000;
    };
    const one = await timed(1);
    const three = await timed(3);
    // the wait plus tsocat's exit: 1 s told from 2 s and 3 s from 2 s and 4 s (an ablated res-retrans waits the default 5 s)
    expect(one).toBeGreaterThan(0.95);
    expect(one).toBeLessThan(1.7);
    expect(three).toBeGreaterThan(2.95);
    expect(three).toBeLessThan(3.7);
    // res-retry is the number of questions: one each here
    expect(dns.asked.filter((n) => n === 'silent.tsocat.invalid')).toHaveLength(2);
  });

  it('the name is asked as written (socat\'s test.sh RES_NSADDR greps the question for it), recursion desired unless res-recurse=0', async () => {
    const dns = await dnsServer();
    const port = await greeter();
    const asked = await tsocat(['-u', `TCP4:MixedCase-Name.tsocat.invalid:${port},res-nsaddr=127.0.0.1:${dns.port}`, '-']);
    expect(asked.stdout.toString()).toBe('hello from the server\n');
    const flat = await tsocat(['-u', `TCP4:flat.tsocat.invalid:${port},res-nsaddr=127.0.0.1:${dns.port},res-recurse=0`, '-']);
    expect(flat.stdout.toString()).toBe('hello from the server\n');
    expect(dns.asked).toEqual(['MixedCase-Name.tsocat.invalid', 'flat.tsocat.invalid']);
    expect(dns.recursionDesired).toEqual([true, false]);
  });

  it('res-retry=2 asks twice before giving up (res-retry=1 above: once)', async () => {
    const dns = await dnsServer(true);
    const r = await tsocat(['-u', `TCP4:twice.tsocat.invalid:80,res-nsaddr=127.0.0.1:${dns.port},res-retry=2,res-retrans=1`, '-']);
    expect(r.status).toBe(1);
    expect(dns.asked.filter((n) => n === 'twice.tsocat.invalid')).toHaveLength(2);
  }, 15000);

  const refusals: Array<[string, string, RegExp]> = [
    ['a port out of range', 'TCP4:127.0.0.1:1,res-nsaddr=127.0.0.1:99999', /E port 99999 is out of range: a port is a number from 0 to 65535\n$/],
    ['a malformed server', 'TCP4:127.0.0.1:1,res-nsaddr=1.2.3.4:x', /E res-nsaddr: "1.2.3.4:x" is not <ipv4-address>\[:<port>\]\n$/],
    ['res-retry without a server', 'TCP4:127.0.0.1:1,res-retry=3', /E option "res-retry" works only with res-nsaddr \(the system resolver's own setting is in \/etc\/resolv.conf\)\n$/],
    ['res-retrans without a server', 'UDP4-SENDTO:127.0.0.1:9,res-retrans=1', /E option "res-retrans" works only with res-nsaddr \(the system resolver's own setting is in \/etc\/resolv.conf\)\n$/],
    ['a server name that does not resolve', 'TCP4:x.tsocat.invalid:1,res-nsaddr=nosuch.tsocat.invalid', /E xioresolve\(node="nosuch.tsocat.invalid", pf=2, \.\.\.\): Name or service not known\n$/],
  ];
  for (const [what, address, message] of refusals) {
    it(`refused: ${what} (one E line, status 1)`, async () => {
      const r = await tsocat(['-u', address, '-'], { input: '' });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
  }
});
