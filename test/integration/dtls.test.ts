/**
 * OPENSSL-DTLS-CLIENT and OPENSSL-DTLS-SERVER against real peers: openssl
 * s_server -dtls and s_client -dtls, and each other, on 127.0.0.1, with
 * certificates the openssl command makes; the certificate checks (cafile,
 * verify, commonname, a client certificate) and the refusals, each compared
 * by its message.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backgroundStarter, exited, freePort, requireOrSkip, requires, stop, tsocat, udpBound, waitFor } from '../helpers.js';
import { certificatesForFile } from '../tls-peers.js';

const start = backgroundStarter();
const { certs, dir } = certificatesForFile();

const peers: ChildProcess[] = [];
afterEach(async () => {
  for (const p of peers.splice(0)) await stop(p);
});

/** openssl s_server/s_client in DTLS mode, its stdin a pipe the test writes to, its stdout collected. */
function opensslPeer(args: string[]): ChildProcess & { output: () => string } {
  const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', () => {});
  peers.push(child);
  return Object.assign(child, { output: () => out });
}

const E_LINE = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d tsocat\[\d+\] E (.*)$/m;
const errorOf = (stderr: string) => stderr.match(E_LINE)?.[1];

/** A DTLS server of tsocat's, started and waited for (its UDP port bound). */
async function dtlsServer(port: number, options: string, address2: string, flags: string[] = []) {
  const server = start([...flags, `OPENSSL-DTLS-SERVER:${port},pf=ip4,${options}`, address2]);
  await waitFor(() => udpBound(port), 15000, 'the DTLS server to bind');
  return server;
}

describe('OPENSSL-DTLS-CLIENT and OPENSSL-DTLS-SERVER with openssl s_server and s_client', () => {
  requires('openssl');

  it('OPENSSL-DTLS-CLIENT:127.0.0.1:<port>,cafile=ca.pem: a line each way with openssl s_server -dtls, the server certificate checked', async () => {
    const port = await freePort();
    const c = certs();
    const sServer = opensslPeer(['s_server', '-dtls', '-4', '-accept', String(port), '-quiet', '-cert', c.server, '-key', c.serverKey]);
    await waitFor(() => udpBound(port), 15000, 's_server to bind');
    const client = start(['-d', '-d', '-', `OPENSSL-DTLS-CLIENT:127.0.0.1:${port},cafile=${c.ca}`]);
    client.stdin?.write('from tsocat\n');
    await waitFor(() => sServer.output().includes('from tsocat\n'), 10000, "s_server's copy of the line");
    sServer.stdin?.write('from s_server\n');
    await waitFor(() => client.output() === 'from s_server\n', 10000, "tsocat's copy of the line");
    expect(client.errors()).toContain('N SSL proto version used: DTLSv1.2');
    expect(client.errors()).toContain('N trusting certificate, commonName matches');
  });

  it('snihost= names the server in the SNI extension; no-sni sends none (s_server -servername good.example -servername_fatal)', async () => {
    const c = certs();
    const sServer = async () => {
      const port = await freePort();
      const peer = opensslPeer(['s_server', '-dtls', '-4', '-accept', String(port), '-cert', c.server, '-key', c.serverKey, '-servername', 'good.example', '-servername_fatal', '-cert2', c.server, '-key2', c.serverKey]);
      await waitFor(() => udpBound(port), 15000, 's_server to bind');
      return { port, peer };
    };
    const bad = await sServer();
    const refused = await tsocat(['-', `OPENSSL-DTLS-CLIENT:127.0.0.1:${bad.port},verify=0,snihost=bad.example`], { input: 'x\n' });
    expect(errorOf(refused.stderr)).toBe('SSL_connect(): error:0A000458:SSL routines::tlsv1 unrecognized name');
    expect(refused.status).toBe(1);
    const good = await sServer();
    const named = start(['-', `OPENSSL-DTLS-CLIENT:127.0.0.1:${good.port},verify=0,snihost=good.example`]);
    named.stdin?.write('named\n');
    await waitFor(() => good.peer.output().includes('named\n'), 10000, "s_server's copy of the line");
    expect(good.peer.output()).toContain('Hostname in TLS extension: "good.example"');
    // localhost would be sent as the name, and refused, without no-sni
    const none = await sServer();
    const unnamed = start(['-', `OPENSSL-DTLS-CLIENT:localhost:${none.port},pf=ip4,verify=0,no-sni`]);
    unnamed.stdin?.write('unnamed\n');
    await waitFor(() => none.peer.output().includes('unnamed\n'), 10000, "s_server's copy of the line");
    expect(none.peer.output()).not.toContain('Hostname in TLS extension');
  });

  it('OPENSSL-DTLS-SERVER:<port>,cert,key,verify=0 PIPE echoes what openssl s_client -dtls sends (test.sh OPENSSL_DTLS_SERVER)', async () => {
    const port = await freePort();
    const c = certs();
    await dtlsServer(port, `cert=${c.server},key=${c.serverKey},verify=0`, 'PIPE');
    const sClient = opensslPeer(['s_client', '-dtls', '-4', '-connect', `127.0.0.1:${port}`, '-quiet']);
    sClient.stdin?.write('echo me\n');
    await waitFor(() => sClient.output().includes('echo me\n'), 10000, 'the echo');
  });
});

describe('tsocat to tsocat over DTLS', () => {
  // DTLS has no flow control (nor has socat's): records a receiver's socket buffer cannot hold are lost, so the
  // files here stay well under what a default receive buffer takes (socat 1.8 itself lost half of 200 KB so)
  it('client to server: 48 KB from a file arrive whole and in order, each side checking the other against ca.pem (client certificate required by verify)', async () => {
    const port = await freePort();
    const c = certs();
    const input = join(dir(), 'to-server.in');
    const output = join(dir(), 'to-server.out');
    writeFileSync(input, randomBytes(48 * 1024));
    const server = await dtlsServer(port, `cert=${c.server},key=${c.serverKey},cafile=${c.ca}`, `CREATE:${output}`, ['-d', '-d', '-u']);
    const r = await tsocat(['-u', `OPEN:${input}`, `OPENSSL-DTLS-CLIENT:127.0.0.1:${port},cert=${c.client},key=${c.clientKey},cafile=${c.ca}`]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(await exited(server, 10000)).toBe(0);
    expect(server.errors()).toContain('N SSL peer cert subject: "O = tsocat tests, CN = client one"');
    const hash = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
    expect(hash(output)).toBe(hash(input));
  });

  it('server to client: -U on the server sends a file the client writes (test.sh OPENSSL_DTLS_TO_CLIENT); its end is the client\'s end of file', async () => {
    const port = await freePort();
    const c = certs();
    const input = join(dir(), 'to-client.in');
    const output = join(dir(), 'to-client.out');
    writeFileSync(input, randomBytes(48 * 1024));
    const server = await dtlsServer(port, `cert=${c.server},key=${c.serverKey},verify=0`, `OPEN:${input}`, ['-U']);
    const r = await tsocat(['-u', `OPENSSL-DTLS-CONNECT:localhost:${port},pf=ip4,cafile=${c.ca}`, `CREATE:${output}`]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(await exited(server, 10000)).toBe(0);
    expect(readFileSync(output).equals(readFileSync(input))).toBe(true);
  });

  it('fork: each client is its own session on the same port, the first still served after a second came and went', async () => {
    const c = certs();
    const port = await freePort();
    const server = await dtlsServer(port, `cert=${c.server},key=${c.serverKey},verify=0,fork`, 'PIPE', ['-d', '-d']);
    const first = start(['-', `OPENSSL-DTLS-CLIENT:127.0.0.1:${port},cafile=${c.ca}`]);
    first.stdin?.write('first, once\n');
    await waitFor(() => first.output() === 'first, once\n', 10000, "the first client's echo");
    const second = await tsocat(['-', `OPENSSL-DTLS-CLIENT:127.0.0.1:${port},cafile=${c.ca}`], { input: 'second\n', endInputAfter: 'second\n' });
    expect(second.stdout.toString()).toBe('second\n');
    expect(second.status).toBe(0);
    first.stdin?.write('first, again\n');
    await waitFor(() => first.output() === 'first, once\nfirst, again\n', 10000, "the first client's second echo");
    expect(server.errors().match(/N accepting UDP connection from/g)).toHaveLength(2);
  });

  it('capath= trusts the CAs of an OpenSSL hashed directory (openssl rehash)', async (ctx) => {
    requireOrSkip(ctx, 'openssl');
    const c = certs();
    const cas = join(dir(), 'capath');
    mkdirSync(cas, { recursive: true });
    copyFileSync(c.ca, join(cas, 'ca.pem'));
    execFileSync('openssl', ['rehash', cas]);
    const port = await freePort();
    await dtlsServer(port, `cert=${c.server},key=${c.serverKey},verify=0`, 'PIPE');
    const r = await tsocat(['-d', '-d', '-', `OPENSSL-DTLS-CLIENT:127.0.0.1:${port},capath=${cas}`], { input: 'by capath\n', endInputAfter: 'by capath\n' });
    expect(r.stdout.toString()).toBe('by capath\n');
    expect(r.stderr).toContain('N trusting certificate, commonName matches');
    expect(r.status).toBe(0);
  });

  it('a self-signed server certificate not in cafile: the client fails with OpenSSL\'s reason; verify=0 connects to the same server', async () => {
    const c = certs();
    const port = await freePort();
    await dtlsServer(port, `cert=${c.intruder},verify=0`, 'PIPE');
    const refused = await tsocat(['-', `OPENSSL-DTLS-CLIENT:127.0.0.1:${port},cafile=${c.ca}`], { input: 'x\n' });
    expect(errorOf(refused.stderr)).toBe('self-signed certificate');
    expect(refused.status).toBe(1);
    const port2 = await freePort();
    await dtlsServer(port2, `cert=${c.intruder},verify=0`, 'PIPE');
    const r = await tsocat(['-', `OPENSSL-DTLS-CLIENT:127.0.0.1:${port2},cafile=${c.ca},verify=0`], { input: 'unchecked\n', endInputAfter: 'unchecked\n' });
    expect(r.stdout.toString()).toBe('unchecked\n');
    expect(r.status).toBe(0);
  });

  it('a certificate for another name: refused by the name check, accepted with commonname= that name', async () => {
    const c = certs();
    const port = await freePort();
    await dtlsServer(port, `cert=${c.elsewhere},key=${c.elsewhereKey},verify=0`, 'PIPE');
    const refused = await tsocat(['-', `OPENSSL-DTLS-CLIENT:127.0.0.1:${port},cafile=${c.ca}`], { input: 'x\n' });
    expect(errorOf(refused.stderr)).toBe('certificate is valid but its commonName does not match hostname "127.0.0.1"');
    expect(refused.status).toBe(1);
    const port2 = await freePort();
    await dtlsServer(port2, `cert=${c.elsewhere},key=${c.elsewhereKey},verify=0`, 'PIPE');
    const r = await tsocat(['-', `OPENSSL-DTLS-CLIENT:127.0.0.1:${port2},cafile=${c.ca},commonname=elsewhere.example`], { input: 'named\n', endInputAfter: 'named\n' });
    expect(r.stdout.toString()).toBe('named\n');
    expect(r.status).toBe(0);
  });

  it('a server with verify (the default) and a client without a certificate: the server says "no peer certificate" and exits 1', async () => {
    const c = certs();
    const port = await freePort();
    const server = await dtlsServer(port, `cert=${c.server},key=${c.serverKey},cafile=${c.ca}`, 'PIPE');
    void tsocat(['-', `OPENSSL-DTLS-CLIENT:127.0.0.1:${port},cafile=${c.ca},so-rcvtimeo=3`], { input: 'x\n' }).catch(() => {});
    expect(await exited(server, 10000)).toBe(1);
    expect(errorOf(server.errors())).toBe('no peer certificate');
  });

  it('min-proto-version=DTLS1.2 on the server, max-proto-version=DTLS1 on the client: no common version, each side says so', async () => {
    const c = certs();
    const port = await freePort();
    const server = await dtlsServer(port, `cert=${c.server},key=${c.serverKey},verify=0,min-proto-version=DTLS1.2`, 'PIPE');
    const r = await tsocat(['-', `OPENSSL-DTLS-CLIENT:127.0.0.1:${port},cafile=${c.ca},max-proto-version=DTLS1`], { input: 'x\n' });
    expect(r.status).toBe(1);
    const said = errorOf(r.stderr);
    // OpenSSL 3.0 (Node 20, 22) offers DTLS 1.0 and meets the server's refusal; 3.5 (Node 24 on) allows DTLS 1.0
    // at no security level and says so before sending anything, so its server never hears a client
    if (said === 'SSL_connect(): error:0A0000BF:SSL routines::no protocols available') return;
    expect(said).toBe('SSL_connect(): error:0A00042E:SSL routines::tlsv1 alert protocol version');
    expect(await exited(server, 10000)).toBe(1);
    expect(errorOf(server.errors())).toBe('SSL_accept(): error:0A000102:SSL routines::unsupported protocol');
  });

  it('fingerprint= pins the server certificate instead of a CA and a name; another certificate is refused', async () => {
    const c = certs();
    const pin = new X509Certificate(readFileSync(c.intruder)).fingerprint256;
    const port = await freePort();
    await dtlsServer(port, `cert=${c.intruder},verify=0`, 'PIPE');
    const r = await tsocat(['-', `OPENSSL-DTLS-CLIENT:127.0.0.1:${port},fingerprint=${pin}`], { input: 'pinned\n', endInputAfter: 'pinned\n' });
    expect(r.stdout.toString()).toBe('pinned\n');
    expect(r.status).toBe(0);
    const port2 = await freePort();
    await dtlsServer(port2, `cert=${c.server},key=${c.serverKey},verify=0`, 'PIPE');
    const refused = await tsocat(['-', `OPENSSL-DTLS-CLIENT:127.0.0.1:${port2},fingerprint=${pin}`], { input: 'x\n' });
    expect(errorOf(refused.stderr)).toMatch(/^peer certificate's SHA-256 fingerprint [0-9A-F:]{95} is not the one pinned by option "fingerprint"/);
    expect(refused.status).toBe(1);
  });

  it('range= on the server: a client from outside it is refused with a W line and the server goes on waiting', async () => {
    const c = certs();
    const port = await freePort();
    const server = await dtlsServer(port, `cert=${c.server},key=${c.serverKey},verify=0,range=127.0.0.2/32`, 'PIPE');
    void tsocat(['-', `OPENSSL-DTLS-CLIENT:127.0.0.1:${port},cafile=${c.ca},so-rcvtimeo=2`], { input: 'x\n' }).catch(() => {});
    await waitFor(() => / W refusing connection from AF=2 127\.0\.0\.1:\d+ due to range option/.test(server.errors()), 10000, 'the refusal');
    expect(server.exitCode).toBe(null);
  });

  it('so-rcvtimeo bounds the handshake: a UDP port that never answers fails the client after that long', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    try {
      const t0 = Date.now();
      const r = await tsocat(['-', `OPENSSL-DTLS-CLIENT:127.0.0.1:${silent.address().port},cafile=${certs().ca},so-rcvtimeo=0.5`], { input: 'x\n' });
      const seconds = (Date.now() - t0) / 1000;
      expect(errorOf(r.stderr)).toBe('SSL_connect(): no answer within so-rcvtimeo (0.5 s)');
      expect(r.status).toBe(1);
      // OpenSSL's own first retransmission is due after 1 s and it would go on resending for a minute
      expect(seconds).toBeGreaterThan(0.45);
      expect(seconds).toBeLessThan(3);
    } finally {
      silent.close();
    }
  });
});

describe('DTLS and the event loop', () => {
  it('a lost ClientHello is sent again by OpenSSL\'s retransmission timer: the handshake completes about a second later', async () => {
    const c = certs();
    const serverPort = await freePort();
    await dtlsServer(serverPort, `cert=${c.server},key=${c.serverKey},verify=0`, 'PIPE');
    // a UDP relay between client and server that drops the client's first datagram
    const relay = createSocket('udp4');
    const toServer = createSocket('udp4');
    let client: { port: number } | undefined;
    let dropped = 0;
    relay.on('message', (msg, from) => {
      client = { port: from.port };
      if (dropped++ === 0) return;
      toServer.send(msg, serverPort, '127.0.0.1');
    });
    toServer.on('message', (msg) => client && relay.send(msg, client.port, '127.0.0.1'));
    await new Promise<void>((resolve) => relay.bind(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => toServer.bind(0, '127.0.0.1', resolve));
    try {
      const t0 = Date.now();
      const r = await tsocat(['-', `OPENSSL-DTLS-CLIENT:127.0.0.1:${relay.address().port},cafile=${c.ca}`], { input: 'resent\n', endInputAfter: 'resent\n' });
      expect(r.stderr).toBe('');
      expect(r.stdout.toString()).toBe('resent\n');
      expect(dropped).toBeGreaterThan(1);
      // OpenSSL's first retransmission is due 1 s after the ClientHello
      expect(Date.now() - t0).toBeGreaterThan(900);
    } finally {
      relay.close();
      toServer.close();
    }
  });

  it('a handshake waiting on a silent peer holds the loop at no time (TSOCAT_LOOP_WATCHDOG=100) and SIGTERM ends it at once', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    try {
      const client = start(['-d', '-d', '-', `OPENSSL-DTLS-CLIENT:127.0.0.1:${silent.address().port},cafile=${certs().ca}`], {
        env: { ...process.env, TSOCAT_LOOP_WATCHDOG: '100' },
      });
      await waitFor(() => client.errors().includes('N opening DTLS connection'), 10000, 'the DTLS client to start');
      await waitFor(() => client.errors().includes('loop watchdog: stalls over 100 ms are reported'), 5000, 'the loop watchdog');
      // an absence can only be watched for a while: two retransmissions (1 s, then 2 s) of the handshake
      await new Promise((r) => setTimeout(r, 1500));
      const log = client.errors();
      expect(log.slice(log.indexOf('N opening DTLS connection'))).not.toContain('event loop stalled');
      const t0 = Date.now();
      client.kill('SIGTERM');
      await exited(client, 5000);
      expect(Date.now() - t0).toBeLessThan(1000);
    } finally {
      silent.close();
    }
  });
});

describe('DTLS command lines refused before anything opens: one E line, exit 1', () => {
  /** Each case: the address (C = a free port, D = the certificate dir) and the message after `E `. */
  const CASES: Array<[string, string, string]> = [
    ['a server without cert', 'OPENSSL-DTLS-SERVER:C', 'no certificate given; consider option "cert"'],
    ['broker', 'OPENSSL-DTLS-SERVER:C,cert=D/server.pem,key=D/server.key,fork,broker', 'option "broker" does not apply to OPENSSL-DTLS-SERVER: DTLS sessions are relayed one by one, not joined in one conversation'],
    ['a TLS version', 'OPENSSL-DTLS-CLIENT:127.0.0.1:C,max-proto-version=TLS1.3', 'Wrong type of TLS/DTLS version "TLS1.3"'],
    ['cert=auto', 'OPENSSL-DTLS-SERVER:C,cert=auto', 'option "cert=auto" does not apply to OPENSSL-DTLS-SERVER: the DTLS addresses read certificates from files only'],
    ['a missing certificate file', 'OPENSSL-DTLS-CLIENT:127.0.0.1:C,cert=D/missing.pem', 'SSL_CTX_use_certificate_file("D/missing.pem"): No such file or directory'],
    ['a key that does not fit', 'OPENSSL-DTLS-SERVER:C,cert=D/server.pem,key=D/client.key', 'SSL_CTX_use_PrivateKey_file("D/client.key"): error:05800074:x509 certificate routines::key values mismatch'],
    ['a cipher list that matches nothing', 'OPENSSL-DTLS-CLIENT:127.0.0.1:C,cipher=NOSUCHCIPHER', 'SSL_CTX_set_cipher_list(, "NOSUCHCIPHER"): error:0A0000B9:SSL routines::no cipher match'],
    ['dhparam', 'OPENSSL-DTLS-SERVER:C,cert=D/server.pem,key=D/server.key,dhparam=D/server.pem', 'option "openssl-dhparam" does not apply to OPENSSL-DTLS-SERVER: DTLS addresses use OpenSSL\'s built-in key exchange groups'],
    ['the DTLS alias with port 0', 'DTLS:127.0.0.1:0', 'DTLS: invalid destination port "0" (1-65535)'],
  ];
  it.for(CASES)('%s', async ([, address, message]) => {
    const port = String(await freePort());
    const fill = (s: string) => s.replaceAll('D/', `${dir()}/`).replace(/(?<=[:=])C\b/g, port);
    const r = await tsocat(['-', fill(address)]);
    expect(r.stdout.toString()).toBe('');
    expect(r.stderr).toMatch(/^[^\n]* E [^\n]*\n$/);
    expect(errorOf(r.stderr)).toBe(fill(message));
    expect(r.status).toBe(1);
  });
});
