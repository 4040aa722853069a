import { createServer } from 'node:net';
import { expect, it } from 'vitest';
import { openAddress, relay, TsocatError } from '../../src/index.js';

/** A port nothing listened on a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Sends text through an address, ends its input, and reads the reply to its end. */
async function exchange(address: string, text: string): Promise<string> {
  const ep = await openAddress(address);
  if (ep.kind !== 'endpoint' || !ep.readable || !ep.writable) throw new Error(`${address} is not a stream`);
  ep.writable.write(text);
  ep.shutdownWrite();
  let reply = '';
  for await (const chunk of ep.readable) reply += chunk;
  await ep.close();
  return reply;
}

it('a forking relay serves every client until aborted, then resolves with status 0', async () => {
  const port = await freePort();
  const controller = new AbortController();
  // closeTimeout (-t): after a client's data ends, wait up to 5 s for tr's answer (0.5 s by default)
  const serving = relay(`TCP-LISTEN:${port},reuseaddr,fork`, 'SYSTEM:tr a-z A-Z', { signal: controller.signal, settings: { closeTimeout: 5 } });
  try {
    // retry: the listener may not be up yet when the first client connects
    expect(await exchange(`TCP:127.0.0.1:${port},retry=20,interval=0.1`, 'one\n')).toBe('ONE\n');
    expect(await exchange(`TCP:127.0.0.1:${port}`, 'two\n')).toBe('TWO\n');
  } finally {
    controller.abort();
  }
  expect(await serving).toBe(0);
});

it('a bad address rejects with a TsocatError before anything opens', async () => {
  const error = await relay('TCP-LISTEN:0,reuseadr', 'STDOUT').catch((err: unknown) => err);
  expect(error).toBeInstanceOf(TsocatError);
  expect(error).toMatchObject({ exitStatus: 1, message: 'parseopts_table(): unknown option "reuseadr"' });
});

it('an address that fails to open rejects too, with the system error in socat words', async () => {
  const port = await freePort();
  const error = await relay(`TCP:127.0.0.1:${port}`, 'STDOUT').catch((err: unknown) => err);
  expect(error).toBeInstanceOf(TsocatError);
  expect(error).toMatchObject({ code: 'ECONNREFUSED', exitStatus: 1, message: `connect(AF=2 127.0.0.1:${port}): Connection refused` });
});
