/**
 * The `--metrics <host>:<port>` value, checked where the flags are parsed
 * (serve's and the plain command's) without loading the metrics server.
 */
import { TsocatError } from '../errors.js';

/** Where the metrics are served, as given and as host and port. */
export interface MetricsAddress {
  text: string;
  host: string;
  port: number;
}

/** `127.0.0.1:9464`, `[::1]:9464` or `localhost:9464` → host and port. */
export function parseListenAddress(text: string): MetricsAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) throw new TsocatError(`--metrics: "${text}" is not <host>:<port> (e.g. 127.0.0.1:9464)`, 'EUSAGE');
  return { text, host: (m[1] ?? m[2]) as string, port };
}
