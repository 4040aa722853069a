/**
 * OPENSSL and OPENSSL-LISTEN against peers no one here wrote: the openssl
 * command (s_client, s_server) and curl, plus Node's own TLS server where the
 * test must see what the client sent (SNI, protocol version, cipher).
 * Certificates are made by openssl for each file run.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, copyFileSync, readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { beforeEach, describe, expect, it } from 'vitest';
import { backgroundStarter, exited, freePort, requireOrSkip, run, stop, tcpExchange, tsocat, waitFor, waitForPort } from '../helpers.js';
import { certificatesForFile, sClientEcho } from '../tls-peers.js';

const background = backgroundStarter();
const { certs, dir } = certificatesForFile();
beforeEach((ctx) => requireOrSkip(ctx, 'openssl'));

/** A TLS server of the test's own that answers each client with what it saw of the handshake. */
async function tellingServer(opts: { maxVersion?: 'TLSv1.2' | 'TLSv1.3'; ciphers?: string; dhparam?: Buffer; cert?: Buffer; key?: Buffer } = {}) {
  const server = createTlsServer(
    { cert: opts.cert ?? readFileSync(certs().server), key: opts.key ?? readFileSync(certs().serverKey), maxVersion: opts.maxVersion, ciphers: opts.ciphers, dhparam: opts.dhparam },
    (socket: TLSSocket) => {
      socket.on('error', () => {});
      const servername = (socket as TLSSocket & { servername?: string | false }).servername;
      socket.end(`sni=${servername || '-'} proto=${socket.getProtocol()} cipher=${socket.getCipher().name}\n`);
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return { port, close: () => new Promise((r) => server.close(() => r(undefined))) };
}

describe('OPENSSL-LISTEN with fork serves openssl s_client and tsocat', () => {
  it('verify=0: s_client and the OPENSSL client both get their bytes back from EXEC:cat', async () => {
    const port = await freePort();
    background([`OPENSSL-LISTEN:${port},cert=${certs().server},key=${certs().serverKey},verify=0,fork,reuseaddr`, 'EXEC:cat']);
    await waitForPort(port, 15000);
    await sClientEcho(port, 'hello from s_client\n');
    const r = await tsocat(['-', `OPENSSL:127.0.0.1:${port},cafile=${certs().ca}`], { input: 'hello from tsocat\n' });
    expect(r.stderr).toBe('');
    expect(r.stdout.toString()).toBe('hello from tsocat\n');
    expect(r.status).toBe(0);
  });

  it('verify=1,cafile: a client certificate is required; a wrong one is refused with one log line and others keep being served', async () => {
    const port = await freePort();
    const server = background([
      '-d',
      '-d',
      `OPENSSL-LISTEN:${port},cert=${certs().server},key=${certs().serverKey},verify=1,cafile=${certs().ca},fork,reuseaddr`,
      // (no quotes: they are tsocat's soft quotes and would not reach the shell)
      'SYSTEM:echo $SOCAT_OPENSSL_X509_COMMONNAME/$SOCAT_OPENSSL_X509_SUBJECT/$SOCAT_OPENSSL_X509_ISSUER/$SOCAT_OPENSSL_X509_ORGANIZATIONNAME; cat',
    ]);
    await waitForPort(port, 15000);
    const good = () => tsocat(['-', `OPENSSL:localhost:${port},cafile=${certs().ca},cert=${certs().client},key=${certs().clientKey}`], { input: 'mine\n' });
    const first = await good();
    expect(first.stdout.toString()).toBe('client one/O = tsocat tests, CN = client one/CN = tsocat test CA/tsocat tests\nmine\n');

    const intruder = await tsocat(['-', `OPENSSL:localhost:${port},cafile=${certs().ca},cert=${certs().intruder}`], { input: 'let me in\n' });
    expect(intruder.stdout.toString()).toBe('');
    await waitFor(() => server.errors().includes(' E self-signed certificate\n'));
    const noCert = await tsocat(['-', `OPENSSL:localhost:${port},cafile=${certs().ca}`], { input: 'let me in\n' });
    expect(noCert.stdout.toString()).toBe('');
    await waitFor(() => server.errors().includes(' E no peer certificate\n'));

    const again = await good();
    expect(again.stdout.toString()).toMatch(/^client one\/.*\nmine\n$/);
    // the peer certificate's names are logged at -d -d
    expect(server.errors()).toContain('N SSL peer cert subject: "O = tsocat tests, CN = client one"');
    expect(server.errors()).toContain('N SSL peer cert issuer: "CN = tsocat test CA"');
    expect(server.errors()).toContain('N SSL peer cert commonName: "client one"');
  });

  it('commonname on a listener: the client certificate must carry that name', async () => {
    const port = await freePort();
    const server = background([`OPENSSL-LISTEN:${port},cert=${certs().server},key=${certs().serverKey},cafile=${certs().ca},commonname=someone.else,fork,reuseaddr`, 'EXEC:cat']);
    await waitForPort(port, 15000);
    const r = await tsocat(['-', `OPENSSL:localhost:${port},cafile=${certs().ca},cert=${certs().client},key=${certs().clientKey}`], { input: 'x\n' });
    expect(r.stdout.toString()).toBe('');
    await waitFor(() => server.errors().includes('E certificate is valid but its commonName does not match hostname "someone.else"'));
  });

  it('a peer that hangs up before the handshake ends the listener with one E line, as socat', async () => {
    const port = await freePort();
    const server = background([`OPENSSL-LISTEN:${port},cert=${certs().server},key=${certs().serverKey},verify=0,reuseaddr`, 'EXEC:cat']);
    await waitForPort(port, 15000);
    // a plain TCP client that says nothing and closes: no TLS at all
    await tcpExchange(port, '');
    expect(await exited(server, 10000)).toBe(1);
    expect(server.errors()).toMatch(/ E SSL_accept\(\): socket closed by peer\n$/);
  });

  it('a listener without a certificate is refused at start with socat\'s message', async () => {
    const port = await freePort();
    const r = await tsocat([`OPENSSL-LISTEN:${port}`, 'EXEC:cat']);
    expect(r.stderr).toMatch(/ E no certificate given; consider option "cert"\n$/);
    expect(r.status).toBe(1);
  });
});

describe('OPENSSL client: a TLS tunnel for plain clients', () => {
  it('TCP-LISTEN,fork to OPENSSL lets curl (plain HTTP) reach an HTTPS server; a name that does not match is refused unless commonname or verify=0 says otherwise', async (ctx) => {
    requireOrSkip(ctx, 'curl');
    const https = createHttpsServer({ cert: readFileSync(certs().server), key: readFileSync(certs().serverKey) }, (req, res) => res.end(`secret page for ${req.url}\n`));
    await new Promise<void>((r) => https.listen(0, '127.0.0.1', () => r()));
    const httpsPort = (https.address() as { port: number }).port;
    try {
      const curlThrough = async (target: string) => {
        const port = await freePort();
        const tunnel = background(['-d', '-d', `TCP-LISTEN:${port},fork,reuseaddr`, target.replace('Q', String(httpsPort))]);
        await waitForPort(port, 15000);
        const r = await run('curl', ['-s', '-S', '--max-time', '10', `http://127.0.0.1:${port}/x`]);
        await stop(tunnel);
        return { body: r.stdout.toString(), log: tunnel.errors() };
      };
      expect((await curlThrough(`OPENSSL:127.0.0.1:Q,cafile=${certs().ca}`)).body).toBe('secret page for /x\n');
      expect((await curlThrough(`OPENSSL:localhost:Q,cafile=${certs().ca}`)).body).toBe('secret page for /x\n');
      // a server whose certificate (signed by the same CA) names elsewhere.example only
      https.setSecureContext({ cert: readFileSync(certs().elsewhere), key: readFileSync(certs().elsewhereKey) });
      const wrongName = await curlThrough(`OPENSSL:127.0.0.1:Q,cafile=${certs().ca}`);
      expect(wrongName.body).toBe('');
      expect(wrongName.log).toContain('E certificate is valid but its commonName does not match hostname "127.0.0.1"');
      expect((await curlThrough(`OPENSSL:127.0.0.1:Q,cafile=${certs().ca},commonname=elsewhere.example`)).body).toBe('secret page for /x\n');
      expect((await curlThrough('OPENSSL:127.0.0.1:Q,verify=0')).body).toBe('secret page for /x\n');
      // without cafile the system's CAs do not know the test CA
      const untrusted = await curlThrough('OPENSSL:localhost:Q');
      expect(untrusted.log).toContain('E unable to verify the first certificate');
    } finally {
      await new Promise((r) => https.close(() => r(undefined)));
    }
  });

  it('a certificate whose commonName is "[::1]" (as socat\'s test certificates) matches OPENSSL:[::1]', async () => {
    const d = dir();
    await run('sh', ['-c', 'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout v6.pem -out v6.pem -days 2 -subj "/CN=[::1]" 2>/dev/null'], { cwd: d });
    const pem = readFileSync(join(d, 'v6.pem'));
    const server = createTlsServer({ cert: pem, key: pem }, (s: TLSSocket) => {
      s.on('error', () => {});
      s.end('over IPv6\n');
    });
    await new Promise<void>((r) => server.listen(0, '::1', () => r()));
    try {
      const port = (server.address() as { port: number }).port;
      const r = await tsocat(['-u', `OPENSSL:[::1]:${port},cafile=${join(d, 'v6.pem')}`, 'STDOUT']);
      expect(r.stderr).toBe('');
      expect(r.stdout.toString()).toBe('over IPv6\n');
    } finally {
      await new Promise((r) => server.close(() => r(undefined)));
    }
  });

  it('capath: the CA certificates in a directory are trusted', async () => {
    const server = await tellingServer();
    try {
      const caDir = join(dir(), 'capath');
      mkdirSync(caDir, { recursive: true });
      copyFileSync(certs().ca, join(caDir, 'ca.pem'));
      const r = await tsocat(['-u', `OPENSSL:localhost:${server.port},capath=${caDir}`, 'STDOUT']);
      expect(r.stderr).toBe('');
      expect(r.stdout.toString()).toMatch(/^sni=localhost /);
    } finally {
      await server.close();
    }
  });

  it('SNI: the host name by default, snihost= instead, none with no-sni or for an address literal', async () => {
    const server = await tellingServer();
    try {
      const sniOf = async (address: string) => (await tsocat(['-u', `${address.replace('PORT', String(server.port))},cafile=${certs().ca}`, 'STDOUT'])).stdout.toString().split(' ')[0];
      expect(await sniOf('OPENSSL:localhost:PORT')).toBe('sni=localhost');
      expect(await sniOf('OPENSSL:localhost:PORT,snihost=other.example')).toBe('sni=other.example');
      expect(await sniOf('OPENSSL:localhost:PORT,no-sni')).toBe('sni=-');
      expect(await sniOf('OPENSSL:127.0.0.1:PORT,commonname=localhost')).toBe('sni=localhost');
      expect(await sniOf('OPENSSL:127.0.0.1:PORT')).toBe('sni=-');
    } finally {
      await server.close();
    }
  });

  it('protocol versions: min-proto-version above the server fails the handshake; max-proto-version and method pick TLS 1.2', async () => {
    const server = await tellingServer({ maxVersion: 'TLSv1.2' });
    const modern = await tellingServer();
    try {
      const tooNew = await tsocat(['-u', `OPENSSL:localhost:${server.port},cafile=${certs().ca},openssl-min-proto-version=TLS1.3`, 'STDOUT']);
      expect(tooNew.stderr).toMatch(/ E SSL_connect\(\): .*(protocol version|alert)/);
      expect(tooNew.status).toBe(1);
      const capped = await tsocat(['-u', `OPENSSL:localhost:${modern.port},cafile=${certs().ca},max-proto-version=TLS1.2`, 'STDOUT']);
      expect(capped.stdout.toString()).toContain('proto=TLSv1.2');
      const method = await tsocat(['-u', `OPENSSL:localhost:${modern.port},cafile=${certs().ca},method=TLS1.2`, 'STDOUT']);
      expect(method.stdout.toString()).toContain('proto=TLSv1.2');
      const floor = await tsocat(['-u', `OPENSSL:localhost:${modern.port},cafile=${certs().ca},min-proto-version=TLS1.3`, 'STDOUT']);
      expect(floor.stdout.toString()).toContain('proto=TLSv1.3');
    } finally {
      await server.close();
      await modern.close();
    }
  });

  it('cipher: the client offers only the listed ciphers', async () => {
    const server = await tellingServer({ maxVersion: 'TLSv1.2' });
    try {
      const r = await tsocat(['-u', `OPENSSL:localhost:${server.port},cafile=${certs().ca},cipher=ECDHE-ECDSA-CHACHA20-POLY1305`, 'STDOUT']);
      expect(r.stdout.toString()).toContain('cipher=ECDHE-ECDSA-CHACHA20-POLY1305');
    } finally {
      await server.close();
    }
  });
});

describe('OPENSSL-LISTEN options seen by openssl s_client', () => {
  it('DH parameters as socat has them: a built-in group by default, those of the dhparam file, else those in the certificate file', async () => {
    const dir = certs().dir;
    const sh = (cmd: string) => run('sh', ['-c', cmd], { cwd: dir, timeoutMs: 60000 });
    await sh('openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe3072 -out dh3072.pem && openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.pem -out rsa.pem -days 2 -subj /CN=localhost 2>/dev/null && cat rsa.pem dh3072.pem > rsa-dh.pem');
    // the size of the group the server used, as a DHE-only client sees it
    const dheKeyBits = async (certOpts: string) => {
      const port = await freePort();
      const server = background([`OPENSSL-LISTEN:${port},${certOpts},verify=0,fork,reuseaddr`, 'SYSTEM:echo dhe-ok']);
      try {
        await waitForPort(port, 15000);
        const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-cipher', 'DHE-RSA-AES128-GCM-SHA256', '-ign_eof'], { timeoutMs: 10000 });
        const out = r.stdout.toString();
        expect(out).toContain('dhe-ok');
        expect(out).toContain('DHE-RSA-AES128-GCM-SHA256');
        return /Server Temp Key: DH, (\d+) bits/.exec(out)?.[1];
      } finally {
        await stop(server);
      }
    };
    expect(await dheKeyBits(`cert=${join(dir, 'rsa.pem')}`)).toBe('2048');
    expect(await dheKeyBits(`cert=${join(dir, 'rsa.pem')},dhparam=${join(dir, 'dh3072.pem')}`)).toBe('3072');
    expect(await dheKeyBits(`cert=${join(dir, 'rsa-dh.pem')}`)).toBe('3072');
  });

  it('a DSA certificate serves over TLS 1.2 with DHE-DSS, X9.42 DH parameters beside it as in socat\'s test (test.sh OPENSSLLISTENDSA)', async () => {
    const dir = certs().dir;
    const sh = (cmd: string) => run('sh', ['-c', cmd], { cwd: dir, timeoutMs: 90000 });
    // as socat's test makes it: DSA parameters, a self-signed DSA certificate, and X9.42 DH parameters appended
    const made = await sh('openssl dsaparam -out dsa-params.pem 2048 2>/dev/null && openssl dhparam -dsaparam -out dsa-dh.pem 2048 2>/dev/null && openssl req -x509 -newkey dsa:dsa-params.pem -nodes -keyout dsa.key -out dsa.crt -days 2 -subj /CN=localhost 2>/dev/null && cat dsa.crt dsa.key dsa-dh.pem > dsa.pem');
    expect(made.status).toBe(0);
    const port = await freePort();
    background([`OPENSSL-LISTEN:${port},pf=ip4,cert=${join(dir, 'dsa.pem')},verify=0,fork,reuseaddr`, 'PIPE']);
    await waitForPort(port, 15000);
    const r = await tsocat(['-d', '-d', '-', `OPENSSL:127.0.0.1:${port},pf=ip4,verify=0`], { input: 'dsa\n', endInputAfter: 'dsa\n' });
    expect(r.stdout.toString()).toBe('dsa\n');
    expect(r.stderr).toContain(' N SSL proto version used: TLSv1.2\n');
    expect(r.stderr).toMatch(/ N SSL connection using TLS_DHE_DSS_WITH_/);
    expect(r.status).toBe(0);
  });

  it('compress=auto and compress=none (test.sh OPENSSL_COMPRESS): both relay, s_client asking for compression is given none, and socat\'s lines are logged', async () => {
    for (const [value, line] of [
      ['auto', ' I Using default OpenSSL compression\n'],
      ['NONE', ' I Disabling OpenSSL compression\n'],
    ] as const) {
      const port = await freePort();
      const server = background(['-d', '-d', '-d', `OPENSSL-LISTEN:${port},pf=ip4,cert=${certs().server},key=${certs().serverKey},verify=0,reuseaddr,compress=${value}`, 'SYSTEM:echo compressed-or-not']);
      try {
        await waitForPort(port, 15000);
        // -comp asks for compression; the session the server agrees to says which it got
        const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-comp', '-tls1_2', '-ign_eof'], { timeoutMs: 10000 });
        const out = r.stdout.toString();
        expect(out).toContain('compressed-or-not');
        expect(out).toContain('Compression: NONE');
        await waitFor(() => server.errors().includes(' N SSL connection expansion "none"\n'), 10000, 'the connection\'s compression lines');
        expect(server.errors()).toContain(line);
        expect(server.errors()).toContain(' N SSL connection compression "none"\n');
      } finally {
        await stop(server);
      }
    }
    const bad = await tsocat(['-', 'OPENSSL:127.0.0.1:1,verify=0,compress=zlib'], { input: '' });
    expect(bad.stderr).toMatch(/^\S+ \S+ tsocat\[\d+\] E openssl-compress="zlib": unknown compression method\n$/);
    expect(bad.status).toBe(1);
  });

  it('s_server as the peer of OPENSSL with a client certificate: the server sees it', async () => {
    const port = await freePort();
    const sServer = spawn('openssl', ['s_server', '-accept', `${port}`, '-cert', certs().server, '-key', certs().serverKey, '-CAfile', certs().ca, '-Verify', '1', '-quiet', '-naccept', '1'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let seen = '';
    sServer.stdout.on('data', (d: Buffer) => {
      seen += d.toString();
    });
    sServer.stderr.on('data', (d: Buffer) => {
      seen += d.toString();
    });
    try {
      await waitForPort(port, 15000);
      const client = await tsocat(['-u', '-', `OPENSSL:localhost:${port},cafile=${certs().ca},cert=${certs().client},key=${certs().clientKey}`], { input: 'to s_server\n' });
      expect(client.stderr).toBe('');
      await waitFor(() => seen.includes('to s_server'), 10000);
      expect(seen).toMatch(/client one/);
    } finally {
      await stop(sServer);
    }
  });
});
