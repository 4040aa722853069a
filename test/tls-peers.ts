/**
 * Real peers for the OPENSSL, PROXY and SOCKS tests: certificates made by the
 * openssl command, an echo server, and Debian's own servers (tinyproxy, danted,
 * microsocks) started on loopback with a config file the test writes, each
 * stopped by its pid after the test.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { stop, tempDir, waitFor, waitForPort } from './helpers.js';

export interface TestCerts {
  dir: string;
  ca: string;
  /** Server certificate for localhost and 127.0.0.1 (PEM), and its key. */
  server: string;
  serverKey: string;
  /** Client certificate signed by the same CA (CN "client one"), and its key. */
  client: string;
  clientKey: string;
  /** Signed by the CA for elsewhere.example only (a name no test connects to), and its key. */
  elsewhere: string;
  elsewhereKey: string;
  /** Self-signed, not trusted by the CA (CN "intruder"), key inside the same file. */
  intruder: string;
}

function openssl(dir: string, ...args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

/** A CA, a server certificate for localhost/127.0.0.1, a client certificate, and an untrusted one, in `dir`. */
export function makeCerts(dir: string): TestCerts {
  const key = (name: string) => openssl(dir, 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name);
  key('ca.key');
  openssl(dir, 'req', '-x509', '-key', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=tsocat test CA');
  const signed = (name: string, subject: string, ext?: string) => {
    key(`${name}.key`);
    openssl(dir, 'req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    const extArgs: string[] = [];
    if (ext) {
      writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
      extArgs.push('-extfile', `${name}.ext`);
    }
    openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', ...extArgs);
  };
  signed('server', '/C=XY/O=tsocat tests/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  signed('client', '/O=tsocat tests/CN=client one');
  signed('elsewhere', '/CN=elsewhere.example', 'subjectAltName=DNS:elsewhere.example');
  openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'intruder.pem', '-out', 'intruder.pem', '-days', '2', '-subj', '/CN=intruder');
  const p = (f: string) => join(dir, f);
  return { dir, ca: p('ca.pem'), server: p('server.pem'), serverKey: p('server.key'), client: p('client.pem'), clientKey: p('client.key'), intruder: p('intruder.pem'), elsewhere: p('elsewhere.pem'), elsewhereKey: p('elsewhere.key') };
}

/** TCP servers on 127.0.0.1, closed after the test: an echo server that greets each client first, or (`greetOnly`) one that greets and hangs up. */
export function echoServers(greetOnly = false): () => Promise<number> {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((r) => s.close(() => r(undefined)));
  });
  return () =>
    new Promise((resolve) => {
      const server = createServer({ allowHalfOpen: true }, (socket) => {
        socket.on('error', () => {});
        if (greetOnly) return void socket.end('hello from target\n');
        socket.write('hello from echo\n');
        socket.pipe(socket);
      });
      servers.push(server);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
}

export const greeters = () => echoServers(true);

/** Starts programs that serve on loopback; each is stopped by its pid after the test. */
export function peerStarter(): (cmd: string, args: string[], port: number) => Promise<ChildProcess & { log: () => string }> {
  const started: ChildProcess[] = [];
  afterEach(async () => {
    for (const p of started.splice(0)) await stop(p);
  });
  return async (cmd, args, port) => {
    let log = '';
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => {
      log += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
    });
    started.push(child);
    await waitForPort(port, 15000);
    return Object.assign(child, { log: () => log });
  };
}

/** For a test file: a temp dir with test certificates made before its tests and removed after them. */
export function certificatesForFile(): { certs: () => TestCerts; dir: () => string } {
  let tmp: ReturnType<typeof tempDir> | undefined;
  let made: TestCerts | undefined;
  beforeAll(() => {
    tmp = tempDir();
    made = makeCerts(tmp.dir);
  });
  afterAll(() => tmp?.cleanup());
  return { certs: () => made as TestCerts, dir: () => (tmp as ReturnType<typeof tempDir>).dir };
}

/** tinyproxy's command line for a config in `dir`: 127.0.0.1:`port`, CONNECT to `allowedPort` only; with `auth` ("user password") Basic authorization. */
export function tinyproxyCommand(dir: string, port: number, allowedPort: number, auth?: string): [string, string[]] {
  const conf = join(dir, `tinyproxy-${port}.conf`);
  writeFileSync(conf, [`Port ${port}`, 'Listen 127.0.0.1', 'Timeout 30', 'LogLevel Info', 'MaxClients 10', 'Allow 127.0.0.1', `ConnectPort ${allowedPort}`, auth ? `BasicAuth ${auth}` : '', ''].join('\n'));
  return ['tinyproxy', ['-d', '-c', conf]];
}

/** danted's command line for a config in `dir`: 127.0.0.1:`port`, no authentication, CONNECT and BIND from loopback. */
export function danteCommand(dir: string, port: number): [string, string[]] {
  const conf = join(dir, `danted-${port}.conf`);
  writeFileSync(
    conf,
    [
      `logoutput: ${join(dir, `danted-${port}.log`)}`,
      `internal: 127.0.0.1 port = ${port}`,
      'external: 127.0.0.1',
      'clientmethod: none',
      'socksmethod: none',
      'user.privileged: root',
      'user.unprivileged: nobody',
      'client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }',
      'socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 command: connect bind bindreply }',
      '',
    ].join('\n'),
  );
  return ['danted', ['-f', conf, '-p', join(dir, `danted-${port}.pid`), '-N', '1']];
}

/**
 * `openssl s_client -quiet` to 127.0.0.1:`port` writes `line` and waits until it
 * is echoed back (s_client keeps the connection while stdin is open), then is stopped by its pid.
 */
export async function sClientEcho(port: number, line: string): Promise<void> {
  const sClient = spawn('openssl', ['s_client', '-quiet', '-connect', `127.0.0.1:${port}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let echoed = '';
  sClient.stdout.on('data', (d: Buffer) => {
    echoed += d.toString();
  });
  sClient.stdin.write(line);
  try {
    await waitFor(() => echoed.includes(line), 10000, `the echo of ${JSON.stringify(line)}`);
  } finally {
    await stop(sClient);
  }
}
