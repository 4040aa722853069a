/**
 * TLS without ceremony: cert=auto makes a listener's certificate in memory
 * and logs its fingerprint; fingerprint= makes a client trust exactly that
 * certificate instead of a CA. The other end is the openssl command.
 */

import { beforeEach, describe, expect, it } from 'vitest';
import { backgroundStarter, freePort, requireOrSkip, run, tsocat, waitFor, waitForPort } from '../helpers.js';
import { certificatesForFile, sClientEcho } from '../tls-peers.js';

const background = backgroundStarter();
const { certs } = certificatesForFile();
beforeEach((ctx) => requireOrSkip(ctx, 'openssl'));

const FINGERPRINT_LINE = / N cert=auto: self-signed certificate for "[^"]+", localhost, 127\.0\.0\.1, ::1, valid 30 days; SHA-256 fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})\n/;

/** `address` (cert=auto in it) listening in the background with -d -d; the fingerprint it logged. */
async function autoListener(address: (port: number) => string, other = 'EXEC:cat'): Promise<{ port: number; fingerprint: string; errors: () => string }> {
  const port = await freePort();
  const child = background(['-d', '-d', address(port), other]);
  await waitForPort(port, 15000);
  await waitFor(() => FINGERPRINT_LINE.test(child.errors()), 5000, 'the fingerprint line');
  return { port, fingerprint: child.errors().match(FINGERPRINT_LINE)?.[1] as string, errors: child.errors };
}

/** What openssl s_client sees of the server certificate: `openssl x509 -fingerprint -sha256` of it. */
async function fingerprintSeenBy(port: number): Promise<string> {
  const shown = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`], { input: '', timeoutMs: 10000 });
  const pem = shown.stdout.toString().match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/)?.[0];
  expect(pem, shown.stderr).toBeDefined();
  const r = await run('openssl', ['x509', '-noout', '-fingerprint', '-sha256'], { input: pem });
  return r.stdout.toString().trim();
}

describe('cert=auto', () => {
  it('OPENSSL-LISTEN,cert=auto: s_client connects and echoes, and the logged fingerprint is the one openssl x509 -fingerprint -sha256 sees', async () => {
    const { port, fingerprint } = await autoListener((p) => `OPENSSL-LISTEN:${p},bind=127.0.0.1,fork,cert=auto,verify=0`);
    expect(await fingerprintSeenBy(port)).toBe(`sha256 Fingerprint=${fingerprint}`);
    await sClientEcho(port, 'hello over an automatic certificate\n');
  });

  it('each start makes a new certificate (a new fingerprint)', async () => {
    const a = await autoListener((p) => `OPENSSL-LISTEN:${p},bind=127.0.0.1,cert=auto,verify=0`);
    const b = await autoListener((p) => `OPENSSL-LISTEN:${p},bind=127.0.0.1,cert=auto,verify=0`);
    expect(a.fingerprint).not.toBe(b.fingerprint);
  });
});

describe('fingerprint= pins the server certificate', () => {
  it('OPENSSL:…,fingerprint=<the logged one> connects without any CA (verify stays on) and relays', async () => {
    const { port, fingerprint } = await autoListener((p) => `OPENSSL-LISTEN:${p},bind=127.0.0.1,fork,cert=auto,verify=0`);
    // the hex digits alone, lower case, are the same fingerprint
    for (const pin of [fingerprint, fingerprint.replace(/:/g, '').toLowerCase()]) {
      const r = await tsocat(['-', `OPENSSL:127.0.0.1:${port},fingerprint=${pin}`], { input: 'pinned\n' });
      expect(r.stderr).toBe('');
      expect(r.stdout.toString()).toBe('pinned\n');
      expect(r.status).toBe(0);
    }
  });

  it('a fingerprint of another certificate is refused with one E line, status 1, nothing relayed', async () => {
    const { port, fingerprint } = await autoListener((p) => `OPENSSL-LISTEN:${p},bind=127.0.0.1,fork,cert=auto,verify=0`);
    const other = (await run('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', certs().server])).stdout.toString().trim().replace('sha256 Fingerprint=', '');
    const r = await tsocat(['-', `OPENSSL:127.0.0.1:${port},fingerprint=${other}`], { input: 'must not pass\n' });
    expect(r.status).toBe(1);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^\\S+ \\S+ tsocat\\[\\d+\\] E peer certificate's SHA-256 fingerprint ${fingerprint} is not the one pinned by option "fingerprint" \\(${other}\\)\\n$`));
  });

  it('a certificate a trusted CA signed is refused too when it is not the pinned one', async () => {
    const port = await freePort();
    background([`OPENSSL-LISTEN:${port},bind=127.0.0.1,fork,cert=${certs().server},key=${certs().serverKey},verify=0`, 'EXEC:cat']);
    await waitForPort(port, 15000);
    const r = await tsocat(['-', `OPENSSL:localhost:${port},cafile=${certs().ca},fingerprint=${'AB'.repeat(32)}`], { input: 'x' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ E peer certificate's SHA-256 fingerprint [0-9A-F:]+ is not the one pinned by option "fingerprint" \((AB:){31}AB\)\n$/);
  });

  it('WSS-LISTEN,cert=auto and WSS:…,fingerprint=: a WebSocket over TLS with no certificate files at all', async () => {
    const { port, fingerprint } = await autoListener((p) => `WSS-LISTEN:${p},bind=127.0.0.1,fork,cert=auto,verify=0`);
    const r = await tsocat(['-', `WSS:wss://127.0.0.1:${port}/,fingerprint=${fingerprint}`], { input: 'ceremony-free\n' });
    expect(r.stdout.toString()).toBe('ceremony-free\n');
    expect(r.status).toBe(0);
  });
});
