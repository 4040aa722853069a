/**
 * The endpoint contract every address plugin must keep (../shared/STYLE.md §3):
 * bytes round-trip intact, writes report backpressure, half-close reaches the
 * far side, close() gives back every descriptor, and failures are TsocatErrors.
 * Each family's test file supplies how to reach its far side and calls
 * testEndpoint().
 *
 * The case files open addresses with this module's openAddress() and tsocat(),
 * which note the plugin each successful open reached when
 * TSOCAT_CONFORMANCE_OPENED names a file; coverage.test.ts compares those
 * with the registry.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, readdirSync } from 'node:fs';
import { relative } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it, type TestContext } from 'vitest';
import { parseCommandLine } from '../../src/cli/flags.js';
import type { Endpoint, Opened } from '../../src/engine/endpoint.js';
import { TsocatError } from '../../src/errors.js';
import { openAddress as openThroughLibrary, parseAddress, resolveKeyword } from '../../src/index.js';
import { type RunOptions, type RunResult, tsocat as runTsocat, skipBecause } from '../helpers.js';

/** The file that collects the opened plugins' names, one a line (set for the whole run by test/global-setup.ts, or by coverage.test.ts for its own run of this folder). */
export const OPENED_RECORD_ENV = 'TSOCAT_CONFORMANCE_OPENED';

/** The line a case file adds to the record when it has run to its end: coverage.test.ts trusts a record only when every case file added it. */
export const CASE_FILE_DONE = '#done';

// biome-ignore lint/correctness/noEmptyPattern: vitest hands hooks their fixtures first and the file's suite second
afterAll(({}, suite) => {
  const file = process.env[OPENED_RECORD_ENV];
  const path = (suite as { filepath?: string }).filepath;
  if (file && path) appendFileSync(file, `${CASE_FILE_DONE}\t${relative(process.cwd(), path)}\n`);
});

/** Notes the plugin (its first name) behind each part of an address text that was opened. */
async function recordOpened(text: string, note = ''): Promise<void> {
  const file = process.env[OPENED_RECORD_ENV];
  if (!file) return;
  const spec = parseAddress(text);
  for (const single of spec.kind === 'single' ? [spec] : [spec.read, spec.write]) {
    const { plugin } = await resolveKeyword(single);
    appendFileSync(file, `${plugin.names[0]}\t${text}${note}\n`);
  }
}

/**
 * Notes a plugin whose address this kernel refuses to make (no SCTP or DCCP
 * module, no vsock loopback): the open was tried and failed with the kernel's
 * own error, which is the most a case can show on such a machine.
 */
export async function noteKernelLacks(text: string, why: string): Promise<void> {
  await recordOpened(text, `\tkernel: ${why}`);
}

/** The library's openAddress, noting the plugin reached when the open succeeds. */
export async function openAddress(text: string, options?: Parameters<typeof openThroughLibrary>[1]): Promise<Opened> {
  const opened = await openThroughLibrary(text, options);
  await recordOpened(text);
  return opened;
}

/** The tsocat command (helpers' tsocat()), noting the plugins of both addresses when it succeeds. */
export async function tsocat(args: string[], opts?: RunOptions): Promise<RunResult> {
  const result = await runTsocat(args, opts);
  if (result.status === 0 && process.env[OPENED_RECORD_ENV]) {
    for (const text of parseCommandLine(args).addresses) await recordOpened(text);
  }
  return result;
}

export interface EndpointCase {
  name: string;
  /**
   * Opens the endpoint under test and says how to see the bytes written to it:
   * 'echo' when they come back on its own readable (PIPE, EXEC:cat, an echo peer),
   * or a function returning everything the far side received once the endpoint has closed.
   */
  open(): Promise<{ endpoint: Endpoint; received: 'echo' | (() => Promise<Buffer>); cleanup?: () => Promise<void> }>;
  /** An address text of this family that must fail to open. */
  failing?: () => Promise<string> | string;
  /** Bytes for the round trip (default 1 MiB). */
  size?: number;
  /** Skip the backpressure check (endpoints whose writes cannot block, e.g. a regular file): why, or true for the usual reason. */
  noBackpressure?: boolean | string;
}

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

export function collect(readable: Readable | undefined, timeoutMs = 10000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (!readable) return resolve(Buffer.alloc(0));
    const chunks: Buffer[] = [];
    const t = setTimeout(() => reject(new Error('no end of data in time')), timeoutMs);
    readable.on('data', (d: Buffer) => chunks.push(d));
    readable.once('end', () => {
      clearTimeout(t);
      resolve(Buffer.concat(chunks));
    });
    readable.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    readable.resume();
  });
}

/** Writes everything honouring backpressure, then half-closes. */
export async function writeAll(endpoint: Endpoint, data: Buffer): Promise<void> {
  const w = endpoint.writable;
  if (!w) throw new Error('endpoint has no write side');
  for (let at = 0; at < data.length; at += 65536) {
    if (!w.write(data.subarray(at, at + 65536))) await new Promise((r) => w.once('drain', r));
  }
  endpoint.shutdownWrite();
}

export function asEndpoint(opened: Opened): Endpoint {
  if (opened.kind !== 'endpoint') throw new Error('expected an endpoint');
  return opened;
}

export function testEndpoint(c: EndpointCase): void {
  describe(`endpoint contract: ${c.name}`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const f of cleanups.splice(0)) await f();
    });

    it('round-trips bytes intact, and half-close reaches the far side as end of data', async () => {
      const { endpoint, received, cleanup } = await c.open();
      if (cleanup) cleanups.push(cleanup);
      const data = randomBytes(c.size ?? 1 << 20);
      if (received === 'echo') {
        const back = collect(endpoint.readable);
        await writeAll(endpoint, data);
        expect((await back).equals(data)).toBe(true);
        await endpoint.close();
      } else {
        await writeAll(endpoint, data);
        await endpoint.close();
        expect((await received()).equals(data)).toBe(true);
      }
    });

    it('reports backpressure instead of buffering without bound', async (ctx: TestContext) => {
      if (c.noBackpressure) skipBecause(ctx, typeof c.noBackpressure === 'string' ? c.noBackpressure : `writes to ${c.name} never block`);
      const { endpoint, cleanup } = await c.open();
      if (cleanup) cleanups.push(cleanup);
      endpoint.readable?.pause();
      const w = endpoint.writable;
      expect(w).toBeDefined();
      const block = Buffer.alloc(65536, 0x61);
      let written = 0;
      let refused = false;
      // nobody reads the far side for now, so the kernel's or the stream's buffer must fill
      for (let i = 0; i < 4096 && !refused; i++) {
        refused = !w?.write(block);
        written += block.length;
      }
      expect(refused).toBe(true);
      expect(written).toBeLessThan(256 * 1024 * 1024);
      await endpoint.close();
    });

    it('close() releases every descriptor it opened', async () => {
      const before = openFds();
      const { endpoint, cleanup } = await c.open();
      await endpoint.close();
      if (cleanup) await cleanup();
      // descriptors close asynchronously in libuv; give them a moment
      for (let i = 0; i < 50 && openFds() > before; i++) await new Promise((r) => setTimeout(r, 20));
      expect(openFds()).toBeLessThanOrEqual(before);
    });

    it('fails with a TsocatError, never another error', async (ctx: TestContext) => {
      if (!c.failing) skipBecause(ctx, `the case names no ${c.name} address that fails to open`);
      const text = await c.failing();
      const err = await openThroughLibrary(text).then(
        (ep) => ep,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TsocatError);
      expect((err as TsocatError).message).not.toMatch(/\n/);
    });
  });
}
