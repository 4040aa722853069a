/**
 * The browser end: Debian's chromium, headless, loads a page from 127.0.0.1
 * that opens a WebSocket to WS-LISTEN, which relays to a TCP echo server;
 * the page writes what came back into its DOM, which chromium prints.
 */
import { createServer, type ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { backgroundStarter, freePort, requireOrSkip, run, tempDir, waitForPort } from '../helpers.js';
import { tcpEchoServers } from '../ws-peers.js';

const start = backgroundStarter();
const tcpEcho = tcpEchoServers();

/** The page: two messages, the second sent once the first is back; the result goes into #out, then /finished is asked for. */
function page(wsPort: number): string {
  return `<!doctype html><html><body><pre id="out">waiting</pre><script>
const out = document.getElementById('out');
const ws = new WebSocket('ws://127.0.0.1:${wsPort}/');
const got = [];
const finish = (text) => { out.textContent = text; fetch('/finished'); };
ws.onopen = () => ws.send('hello from chromium');
ws.onmessage = (e) => {
  got.push(typeof e.data + ':' + e.data);
  if (got.length === 1) ws.send('second \\u2603');
  else { finish('echoed ' + got.join(' | ')); ws.close(); }
};
ws.onerror = () => finish('websocket error');
setTimeout(() => finish('timed out with ' + got.join(' | ')), 15000);
</script><img src="/done"></body></html>`;
}

/**
 * Serves the page; /done (an image, so the load event and chromium's DOM dump wait
 * for it) is answered only once the page asked for /finished.
 */
async function pageServer(wsPort: number): Promise<{ port: number; close: () => Promise<void> }> {
  let held: ServerResponse | undefined;
  let finished = false;
  const release = () => {
    if (held && !held.headersSent) held.writeHead(404).end();
  };
  const server = createServer((req, res) => {
    if (req.url === '/') return void res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page(wsPort));
    if (req.url === '/finished') {
      finished = true;
      release();
      return void res.writeHead(204).end();
    }
    if (req.url === '/done') {
      held = res;
      if (finished) release();
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    close: () => {
      release();
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** chromium --headless --dump-dom: the DOM after the page loaded, as text. */
async function dumpDom(url: string, profile: string): Promise<string> {
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--dump-dom', url];
  const r = await run('chromium', args, { timeoutMs: 45000 });
  if (r.status !== 0) throw new Error(`chromium exited with ${r.status ?? r.signal}: ${r.stderr.slice(-2000)}`);
  return r.stdout.toString();
}

describe('a browser talks to WS-LISTEN', () => {
  it('headless chromium opens a WebSocket to WS-LISTEN:P TCP:echo and its two text messages come back as text', { timeout: 60000 }, async (ctx) => {
    requireOrSkip(ctx, 'chromium');
    const echoPort = await tcpEcho();
    const wsPort = await freePort();
    const relay = start(['-d', '-d', `WS-LISTEN:${wsPort},bind=127.0.0.1,fork`, `TCP:127.0.0.1:${echoPort}`]);
    await waitForPort(wsPort);
    const server = await pageServer(wsPort);
    const profile = tempDir();
    try {
      const dom = await dumpDom(`http://127.0.0.1:${server.port}/`, profile.dir);
      expect(dom).toContain('<pre id="out">echoed string:hello from chromium | string:second \u2603</pre>');
      expect(relay.errors()).toMatch(/ N WebSocket connection from AF=2 127\.0\.0\.1:\d+\n/);
    } finally {
      await server.close();
      profile.cleanup();
    }
  });
});
