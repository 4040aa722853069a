/**
 * The HTTP CONNECT exchange (PROXY address): the request we send and a parser
 * for the proxy's answer that trusts none of its bytes.
 */
import { TsocatError } from '../../errors.js';
import type { ReplyParser } from './handshake-reader.js';

export interface ConnectRequest {
  /** host:port as it goes into the request line (an IPv6 literal in brackets). */
  target: string;
  httpVersion: string;
  /** user:password for Basic authorization; goes on the wire only, never into a log line. */
  credentials?: string;
}

/** The request line, for log lines and error messages (holds no secret). */
export function requestLine(req: ConnectRequest): string {
  return `CONNECT ${req.target} HTTP/${req.httpVersion}`;
}

export function connectRequest(req: ConnectRequest): string {
  let text = `${requestLine(req)}\r\n`;
  if (req.httpVersion === '1.1') text += `Host: ${req.target}\r\n`;
  if (req.credentials !== undefined) text += `Proxy-authorization: Basic ${Buffer.from(req.credentials).toString('base64')}\r\n`;
  return `${text}\r\n`;
}

export interface ProxyAnswer {
  statusLine: string;
  headers: string[];
}

/** Bytes a log line may show of the proxy's text: printable ASCII, the rest as \xNN, at most 200 characters. */
export function sanitize(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return clean.length > 200 ? `${clean.slice(0, 200)}...` : clean;
}

/**
 * The proxy's answer: a status line and headers up to an empty line. Lines end
 * in CRLF; with `ignoreCr` a bare LF ends a line too (and stray CRs are dropped).
 * Only 200 lets the connection through, as in socat: any other answer (a 204, a
 * redirect with a body, a 100 Continue before the real answer) is no tunnel.
 */
export function proxyAnswerParser(request: string, ignoreCr: boolean): ReplyParser<ProxyAnswer> {
  return (bytes) => {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const lf = bytes.indexOf(0x0a, start);
      if (lf < 0) return undefined;
      let line = bytes.subarray(start, lf).toString('latin1');
      if (line.endsWith('\r')) line = line.slice(0, -1);
      else if (!ignoreCr) throw new TsocatError(`proxy: invalid answer "${sanitize(line)}": line not ended by CRLF (option ignorecr accepts that)`, 'EPROTO');
      if (ignoreCr) line = line.replace(/\r/g, '');
      start = lf + 1;
      if (lines.length === 0) checkStatusLine(line, request);
      if (line === '') {
        const [statusLine = '', ...headers] = lines;
        return { value: { statusLine, headers }, consumed: start };
      }
      lines.push(line);
    }
  };
}

function checkStatusLine(line: string, request: string): void {
  const m = /^HTTP\/1\.[01] +(\d{3})(?: (.*))?$/.exec(line);
  if (!m) throw new TsocatError(`proxy: invalid answer "${sanitize(line)}"`, 'EPROTO');
  if (m[1] !== '200') throw new TsocatError(`${request}: ${sanitize(line)}`, 'EPROXY');
}
