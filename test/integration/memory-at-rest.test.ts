/**
 * A fork server at rest gives memory back (src/engine/relay/at-rest.ts, issue 17):
 * once no session has run for a second after a burst of connections, the
 * command collects garbage, trims glibc's heap and says so at -d -d -d -d.
 * scripts/churn.mjs measures the same at 100,000 connections.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { backgroundStarter, freePort, tcpExchange, waitFor, waitForPort } from '../helpers.js';
import { echoServer } from '../socket-helpers.js';

const start = backgroundStarter();
const toClose: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of toClose.splice(0).reverse()) await f();
});

describe('TCP-LISTEN,fork at rest', () => {
  it('after 600 connections and a second without sessions, the relay gives memory back: its resident size drops', async () => {
    const echo = await echoServer();
    toClose.push(echo.close);
    const port = await freePort();
    const p = start(['-d', '-d', '-d', '-d', `TCP-LISTEN:${port},reuseaddr,fork,bind=127.0.0.1`, `TCP:127.0.0.1:${echo.port}`]);
    await waitForPort(port);
    let left = 600;
    const worker = async () => {
      while (left-- > 0) {
        const sent = randomBytes(1000);
        expect((await tcpExchange(port, sent, { halfClose: true })).equals(sent)).toBe(true);
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
    await waitFor(() => /memory given back/.test(p.errors()), 10000, 'the at-rest line');
    const m = /D no session for 1000 ms: memory given back in [\d.]+ ms \([^)]*\), resident ([\d.]+) → ([\d.]+) MiB/.exec(p.errors());
    expect(m, p.errors().split('\n').filter((l) => l.includes('given back')).join('\n')).not.toBeNull();
    expect(Number(m?.[2])).toBeLessThan(Number(m?.[1]));
  }, 60000);
});
