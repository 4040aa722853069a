/**
 * `--metrics <host>:<port>`: the relays' counters in Prometheus' text format
 * at `/metrics`, written by prom-client (the well-kept client; its text output
 * is what Prometheus parses). The counters themselves are the engine's
 * (src/engine/relay/statistics.ts); each scrape reads them as they are.
 */
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { ErrorKind, Statistics } from '../engine/relay/statistics.js';
import { type SystemError, strerror, TsocatError } from '../errors.js';
import type { MetricsAddress } from './listen-address.js';

const require = createRequire(import.meta.url);

/** Each relay's counters by name, as they are at the moment of the scrape. */
export type CounterSource = () => Iterable<[string, Statistics]>;

const ERROR_KINDS: readonly ErrorKind[] = ['open', 'read', 'write', 'program', 'relay'];

/** The registry of every metric, each read from the counters when scraped. */
function metricsRegistry(source: CounterSource) {
  const prom = require('prom-client') as typeof import('prom-client');
  const registry = new prom.Registry();
  new prom.Gauge({
    name: 'tsocat_sessions_open',
    help: 'Sessions running now',
    labelNames: ['relay'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [relay, s] of source()) this.set({ relay }, s.sessionsOpen);
    },
  });
  const perRelayCounter = (name: string, help: string, read: (s: Statistics) => number) =>
    new prom.Counter({
      name,
      help,
      labelNames: ['relay'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [relay, s] of source()) this.inc({ relay }, read(s));
      },
    });
  perRelayCounter('tsocat_sessions_total', 'Sessions started since the relay started', (s) => s.sessionsTotal);
  perRelayCounter('tsocat_reconnects_total', 'Connections made again: by an address with reconnect after a drop, or by a connecting address with fork (the connect loop)', (s) => s.reconnects);
  new prom.Counter({
    name: 'tsocat_bytes_total',
    help: 'Bytes relayed, by direction: left_to_right is address 1 to address 2',
    labelNames: ['relay', 'direction'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [relay, s] of source()) {
        this.inc({ relay, direction: 'left_to_right' }, s.bytes(true));
        this.inc({ relay, direction: 'right_to_left' }, s.bytes(false));
      }
    },
  });
  new prom.Counter({
    name: 'tsocat_errors_total',
    help: "Errors by kind: open (a peer's second address), read, write, program (a program that failed), relay (the relay itself stopped)",
    labelNames: ['relay', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [relay, s] of source()) for (const kind of ERROR_KINDS) this.inc({ relay, kind }, s.errors.get(kind) ?? 0);
    },
  });
  return registry;
}

/** Serves /metrics on `where` until closed; rejects with a TsocatError when it cannot listen there. */
export async function serveMetrics(where: MetricsAddress, source: CounterSource): Promise<Server> {
  const { host, port } = where;
  const registry = metricsRegistry(source);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: SystemError) => reject(new TsocatError(`--metrics: listen on ${where.text}: ${strerror(err)}`, 'EMETRICS')));
    server.listen(port, host, () => resolve());
  });
  return server;
}
