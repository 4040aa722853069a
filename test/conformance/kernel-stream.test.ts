/**
 * SCTP, DCCP and VSOCK: each LISTEN address accepts a peer its CONNECT address
 * brings, and bytes go both ways. Where the kernel lacks the protocol (no
 * sctp or dccp module, no vsock loopback) the open fails with the kernel's own
 * error; the case notes that for the coverage check and skips with the reason.
 */
import { describe, expect, it, type TestContext } from 'vitest';
import type { Listener } from '../../src/engine/endpoint.js';
import { TsocatError } from '../../src/errors.js';
import { freePort, skipBecause } from '../helpers.js';
import { asEndpoint, collect, noteKernelLacks, openAddress } from './suite.js';

/** errno names of a kernel without the protocol (or, for vsock, without loopback). */
const KERNEL_LACKS = new Set(['EPROTONOSUPPORT', 'ESOCKTNOSUPPORT', 'EAFNOSUPPORT', 'ETIMEDOUT', 'ENODEV']);

/** Opens `text`; when the kernel refuses, notes every address of the pair and skips. */
async function openOrNote(ctx: TestContext, text: string, pair: string[]) {
  try {
    return await openAddress(text);
  } catch (err) {
    if (!(err instanceof TsocatError) || !KERNEL_LACKS.has(err.code)) throw err;
    for (const address of pair) await noteKernelLacks(address, err.message);
    return skipBecause(ctx, `this kernel refuses ${text}: ${err.message}`);
  }
}

/** The LISTEN address accepts the CONNECT address; what one writes the other reads. */
async function exchange(ctx: TestContext, listenText: string, connectText: string): Promise<void> {
  const listener = (await openOrNote(ctx, listenText, [listenText, connectText])) as Listener;
  try {
    const accepted = listener.accept();
    accepted.catch(() => {}); // when the connect is refused, closing the listener rejects it
    const client = asEndpoint(await openOrNote(ctx, connectText, [connectText]));
    const server = await accepted;
    const back = collect(client.readable);
    server.readable?.once('data', (d: Buffer) => server.writable?.end(Buffer.from(d)));
    client.writable?.write('both ways');
    expect((await back).toString()).toBe('both ways');
    await client.close();
    await server.close();
  } finally {
    await listener.close();
  }
}

describe('SCTP and DCCP over IPv4 and IPv6', () => {
  it.for(['SCTP', 'SCTP4', 'SCTP6', 'DCCP', 'DCCP4', 'DCCP6'])('%s-LISTEN accepts the CONNECT of the same protocol and version', async (stem, ctx) => {
    const port = await freePort();
    const host = stem.endsWith('6') ? '[::1]' : '127.0.0.1';
    await exchange(ctx, `${stem}-LISTEN:${port},bind=${host.replace(/[[\]]/g, '')}`, `${stem}-CONNECT:${host}:${port}`);
  });
});

describe('VSOCK', () => {
  it('VSOCK-LISTEN accepts VSOCK-CONNECT over the local context id (1)', async (ctx) => {
    const port = 20000 + Math.floor(Math.random() * 40000);
    await exchange(ctx, `VSOCK-LISTEN:${port}`, `VSOCK-CONNECT:1:${port},connect-timeout=1`);
  });
});

