/**
 * OPENSSL (both ways), PROXY and SOCKS command lines through tsocat and through
 * real socat, against the same peers: the same bytes out and the same exit
 * status. Debian's socat 1.7.4 has no SOCKS5; those lines compare with a socat
 * 1.8 build when one is present and say so when not.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { freePort, requireOrSkip, run, type RunResult, SOCAT, socat18OrSkip, stop, TSOCAT, waitForPort } from '../helpers.js';
import { certificatesForFile, danteCommand, greeters, peerStarter, tinyproxyCommand } from '../tls-peers.js';

const greeter = greeters();
const startPeer = peerStarter();
const { certs, dir } = certificatesForFile();

const tools = (socat: string) => [
  [process.execPath, TSOCAT],
  [socat],
];

/**
 * Runs one command line with tsocat and with socat; both results. The lines read
 * from a peer that greets and hangs up (-u ... STDOUT): what a peer does after our
 * end of file (tinyproxy drops the whole tunnel) would otherwise race with its echo.
 */
async function both(socat: string, args: string[], input = ''): Promise<[RunResult, RunResult]> {
  const [a, b] = await Promise.all(tools(socat).map(([cmd, ...first]) => run(cmd as string, [...first, ...args], { input })));
  return [a as RunResult, b as RunResult];
}
const seen = (r: RunResult) => ({ status: r.status, out: r.stdout.toString() });

/** A TLS server of the test's own: greets and hangs up; with `clientCerts`, only clients the CA signed get in. */
async function tlsGreeter(clientCerts = false) {
  const server = createTlsServer(
    { cert: readFileSync(certs().server), key: readFileSync(certs().serverKey), ca: readFileSync(certs().ca), requestCert: clientCerts, rejectUnauthorized: clientCerts },
    (s: TLSSocket) => {
      s.on('error', () => {});
      s.end(`hello tls, ${s.getProtocol()}\n`);
    },
  );
  server.on('tlsClientError', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as { port: number }).port, close: () => new Promise((r) => server.close(() => r(undefined))) };
}

describe('OPENSSL client compared with socat', () => {
  const lines: Array<[string, boolean]> = [
    ['OPENSSL:localhost:P,cafile=CA', false],
    ['OPENSSL:127.0.0.1:P,cafile=CA', false],
    ['OPENSSL:localhost:P', false],
    ['OPENSSL:localhost:P,verify=0', false],
    ['OPENSSL:127.0.0.1:P,cafile=CA,commonname=wrong.example', false],
    ['OPENSSL:127.0.0.1:P,cafile=CA,commonname=localhost', false],
    ['OPENSSL:localhost:P,cafile=CA,openssl-max-proto-version=TLS1.2', false],
    ['OPENSSL:localhost:P,cafile=CA,cert=CLIENT,key=CLIENTKEY', true],
    ['OPENSSL:localhost:P,cafile=CA,cert=INTRUDER', true],
  ];
  it.for(lines)('- %s (client certificates required: %s)', async ([address, clientCerts], ctx) => {
    requireOrSkip(ctx, 'socat', 'openssl');
    const server = await tlsGreeter(clientCerts);
    try {
      const filled = address.replace(':P', `:${server.port}`).replace('=CA', `=${certs().ca}`).replace('=CLIENTKEY', `=${certs().clientKey}`).replace('=CLIENT', `=${certs().client}`).replace('=INTRUDER', `=${certs().intruder}`);
      const [ours, theirs] = await both(SOCAT as string, ['-u', filled, 'STDOUT']);
      expect(seen(ours)).toEqual(seen(theirs));
    } finally {
      await server.close();
    }
  });
});

/** Connects with TLS (optionally with a client certificate), sends a line, collects until the server ends. */
function tlsClient(port: number, cert?: { cert: string; key: string }): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const s = tlsConnect({ port, host: '127.0.0.1', servername: 'localhost', ca: readFileSync(certs().ca), ...(cert ? { cert: readFileSync(cert.cert), key: readFileSync(cert.key) } : {}) });
    s.on('data', (d: Buffer) => {
      got += d.toString();
    });
    s.on('error', () => resolve(got));
    s.on('close', () => resolve(got));
    s.setTimeout(8000, () => s.destroy());
    s.end('ping\n');
  });
}

describe('OPENSSL-LISTEN compared with socat', () => {
  const lines: Array<[string, 'client' | 'intruder' | 'none']> = [
    ['OPENSSL-LISTEN:P,cert=SERVER,key=SERVERKEY,verify=0', 'none'],
    ['OPENSSL-LISTEN:P,cert=SERVER,key=SERVERKEY,cafile=CA', 'client'],
    ['OPENSSL-LISTEN:P,cert=SERVER,key=SERVERKEY,cafile=CA', 'intruder'],
    ['OPENSSL-LISTEN:P,cert=SERVER,key=SERVERKEY,cafile=CA', 'none'],
  ];
  it.for(lines)('%s SYSTEM:echo served; cat, client certificate: %s', async ([address, who], ctx) => {
    requireOrSkip(ctx, 'socat', 'openssl');
    const results: string[] = [];
    for (const [cmd, ...first] of tools(SOCAT as string)) {
      const port = await freePort();
      const filled = address.replace(':P', `:${port}`).replace('=SERVERKEY', `=${certs().serverKey}`).replace('=SERVER', `=${certs().server}`).replace('=CA', `=${certs().ca}`);
      const listener = spawn(cmd as string, [...first, `${filled},reuseaddr`, 'SYSTEM:echo served; cat'], { stdio: 'ignore' });
      try {
        await waitForPort(port, 15000);
        const cert = who === 'client' ? { cert: certs().client, key: certs().clientKey } : who === 'intruder' ? { cert: certs().intruder, key: certs().intruder } : undefined;
        results.push(await tlsClient(port, cert));
      } finally {
        await stop(listener);
      }
    }
    expect(results[0]).toBe(results[1]);
  });
});

describe('PROXY compared with socat (tinyproxy)', () => {
  async function tinyproxy(allowedPort: number, auth?: string) {
    const port = await freePort();
    const [cmd, args] = tinyproxyCommand(dir(), port, allowedPort, auth);
    await startPeer(cmd, args, port);
    return port;
  }
  const lines: Array<[string, string | undefined]> = [
    ['PROXY:127.0.0.1:127.0.0.1:T,proxyport=X', undefined],
    ['PROXY:127.0.0.1:127.0.0.1:BLOCKED,proxyport=X', undefined],
    ['PROXY:127.0.0.1:127.0.0.1:T,proxyport=X,proxyauth=alice:pw', 'alice pw'],
    ['PROXY:127.0.0.1:127.0.0.1:T,proxyport=X,proxyauth=alice:nope', 'alice pw'],
    ['PROXY:127.0.0.1:localhost:T,proxyport=X,resolve', undefined],
  ];
  it.for(lines)('- %s', async ([address, auth], ctx) => {
    requireOrSkip(ctx, 'socat', 'tinyproxy');
    const target = await greeter();
    const proxy = await tinyproxy(target, auth);
    const filled = address.replace(':T,', `:${target},`).replace(':BLOCKED,', `:${target === 65535 ? 1 : target + 1},`).replace('proxyport=X', `proxyport=${proxy}`);
    const [ours, theirs] = await both(SOCAT as string, ['-u', filled, 'STDOUT']);
    expect(seen(ours)).toEqual(seen(theirs));
  });
});

describe('SOCKS compared with socat (danted, microsocks)', () => {
  async function dante() {
    const port = await freePort();
    const [cmd, args] = danteCommand(dir(), port);
    await startPeer(cmd, args, port);
    return port;
  }
  it.for(['SOCKS4:127.0.0.1:127.0.0.1:T,socksport=S', 'SOCKS4:127.0.0.1:127.0.0.1:CLOSED,socksport=S'])('- %s (Debian socat 1.7)', async (address, ctx) => {
    requireOrSkip(ctx, 'socat', 'danted');
    const target = await greeter();
    const socks = await dante();
    const filled = address.replace(':T,', `:${target},`).replace(':CLOSED,', `:${await freePort()},`).replace('socksport=S', `socksport=${socks}`);
    const [ours, theirs] = await both(SOCAT as string, ['-u', filled, 'STDOUT']);
    expect(seen(ours)).toEqual(seen(theirs));
  });
  it.for([
    ['SOCKS5-CONNECT:127.0.0.1:S:127.0.0.1:T', 'dante'],
    ['SOCKS5:127.0.0.1:127.0.0.1:T,socksport=S', 'dante'],
    ['SOCKS5-CONNECT:127.0.0.1:S:127.0.0.1:T,socksuser=alice,sockspass=pw', 'microsocks'],
    ['SOCKS5-CONNECT:127.0.0.1:S:127.0.0.1:T,socksuser=alice,sockspass=nope', 'microsocks'],
  ] as const)('- %s through %s (socat 1.8)', async ([address, server], ctx) => {
    const socat18 = socat18OrSkip(ctx, 'Debian socat 1.7.4 has no SOCKS5');
    requireOrSkip(ctx, server === 'dante' ? 'danted' : 'microsocks');
    const target = await greeter();
    let socks: number;
    if (server === 'dante') socks = await dante();
    else {
      socks = await freePort();
      await startPeer('microsocks', ['-i', '127.0.0.1', '-p', String(socks), '-u', 'alice', '-P', 'pw'], socks);
    }
    const filled = address.replace(':T', `:${target}`).replace(':S:', `:${socks}:`).replace('socksport=S', `socksport=${socks}`);
    const [ours, theirs] = await both(socat18, ['-u', filled, 'STDOUT']);
    expect(seen(ours)).toEqual(seen(theirs));
  });
});
