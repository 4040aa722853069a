/**
 * One DTLS association over a connected, non-blocking UDP descriptor:
 * OpenSSL's SSL object (src/sys/openssl.ts) with a dgram BIO on the socket,
 * driven from the event loop. A call that would wait (SSL_ERROR_WANT_READ or
 * WANT_WRITE) is retried when libuv says the socket is ready
 * (src/sys/poll.ts), and during the handshake when OpenSSL's retransmission
 * timer is due (DTLSv1_get_timeout / DTLSv1_handle_timeout), so a lost
 * datagram costs a resend, not a hang. Nothing here blocks the loop.
 *
 * Once connected, the link is an endpoint that keeps boundaries: each record
 * read is one chunk, each chunk written is one record (and one datagram).
 */
import { closeSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { getSystemErrorName } from 'node:util';
import { strerror, TsocatError } from '../../errors.js';
import { DescriptorWatch, UV_READABLE, UV_WRITABLE } from '../../sys/poll.js';
import {
  attachDatagramSocket,
  openssl,
  retransmit,
  retransmitDelay,
  SSL_ERROR_SSL,
  SSL_ERROR_SYSCALL,
  SSL_ERROR_WANT_READ,
  SSL_ERROR_WANT_WRITE,
  SSL_ERROR_ZERO_RETURN,
  takeError,
} from '../../sys/openssl.js';

/** The most plaintext one DTLS record carries; a longer chunk goes out as several records. */
const RECORD_MAX = 16384;

type Call = 'SSL_connect' | 'SSL_accept' | 'SSL_read' | 'SSL_write';

/** What a failed call means: wait for readability or writability, the peer's close_notify, or an error in socat's words. */
type Outcome = 'read' | 'write' | 'closed' | TsocatError;

export class DtlsLink {
  private readonly watch: DescriptorWatch;
  private waiting: { events: number; go: () => void } | undefined;
  private readWanted = false;
  private pendingWrite: { data: Buffer; done: (err?: Error | null) => void } | undefined;
  private closed = false;
  /** The handshake is done: until then the streams wait (their reads and writes would drive the handshake themselves). */
  private established = false;
  readable?: Readable;
  writable?: Writable;

  constructor(
    readonly fd: number,
    readonly ssl: unknown,
    peer: Buffer,
    /** The most one record carries (-b: socat reads at most that much, and sends each read as one record). */
    private readonly recordSize = RECORD_MAX,
  ) {
    attachDatagramSocket(ssl, fd, peer);
    this.watch = new DescriptorWatch(fd, (status, events) => this.ready(status < 0 ? UV_READABLE | UV_WRITABLE : events), false);
  }

  /** What OpenSSL's result `ret` of `call` asks for. */
  private outcome(call: Call, ret: number): Outcome {
    const o = openssl();
    // errno as the dgram BIO's recv() or send() left it, read before any other call
    const errno = o.koffi.errno();
    const kind = o.SSL_get_error(this.ssl, ret);
    if (kind === SSL_ERROR_WANT_READ) return 'read';
    if (kind === SSL_ERROR_WANT_WRITE) return 'write';
    if (kind === SSL_ERROR_ZERO_RETURN) return 'closed';
    if (kind === SSL_ERROR_SYSCALL) {
      const text = takeError();
      if (text) return new TsocatError(`${call}(): ${text}`, 'ETLS');
      if (ret === 0) return new TsocatError(`${call}(): socket closed by peer`, 'ETLS');
      const code = getSystemErrorName(-errno);
      return new TsocatError(`${call}(): ${strerror(code)}`, code);
    }
    if (kind === SSL_ERROR_SSL && (call === 'SSL_connect' || call === 'SSL_accept')) {
      const result = o.SSL_get_verify_result(this.ssl);
      const text = takeError();
      // the peer's certificate failed the check: OpenSSL's reason, as the TLS addresses give it
      if (result !== 0 && /certificate verify failed/.test(text ?? '')) return new TsocatError(o.X509_verify_cert_error_string(result), 'ETLSVERIFY');
      return new TsocatError(`${call}(): ${text ?? 'failed'}`, 'ETLSHANDSHAKE');
    }
    return new TsocatError(`${call}(): ${takeError() ?? `error ${kind}`}`, 'ETLS');
  }

  private ready(events: number): void {
    const w = this.waiting;
    if (w && events & w.events) {
      this.waiting = undefined;
      w.go();
    }
    if (events & UV_WRITABLE && this.pendingWrite) this.writeSome();
    if (events & UV_READABLE && this.readWanted) this.readSome();
    this.want();
  }

  private want(): void {
    if (this.closed) return;
    const streams = this.established ? (this.readWanted ? UV_READABLE : 0) | (this.pendingWrite ? UV_WRITABLE : 0) : 0;
    const events = (this.waiting?.events ?? 0) | streams;
    this.watch.want(events);
  }

  /**
   * The handshake, as client or server. `quietMs`: give up when no datagram arrives
   * for this long (so-rcvtimeo). `signal` ends it (the relay stopping).
   */
  handshake(client: boolean, quietMs: number | undefined, signal?: AbortSignal): Promise<void> {
    const o = openssl();
    const call: Call = client ? 'SSL_connect' : 'SSL_accept';
    if (client) o.SSL_set_connect_state(this.ssl);
    else o.SSL_set_accept_state(this.ssl);
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let quiet: NodeJS.Timeout | undefined;
      const finish = (err?: Error) => {
        clearTimeout(timer);
        clearTimeout(quiet);
        signal?.removeEventListener('abort', aborted);
        this.waiting = undefined;
        if (err) return reject(err);
        this.established = true;
        if (this.pendingWrite) this.writeSome();
        if (this.readWanted) this.readSome();
        this.want();
        resolve();
      };
      const aborted = () => finish(new TsocatError(`${call}(): aborted`, 'EABORT'));
      signal?.addEventListener('abort', aborted, { once: true });
      const step = () => {
        clearTimeout(timer);
        o.ERR_clear_error();
        const ret = o.SSL_do_handshake(this.ssl);
        if (ret === 1) return finish();
        const next = this.outcome(call, ret);
        if (next instanceof TsocatError) return finish(next);
        if (next === 'closed') return finish(new TsocatError(`${call}(): connection closed (wrong version number?)`, 'ETLSHANDSHAKE'));
        this.waiting = { events: next === 'read' ? UV_READABLE : UV_WRITABLE, go: heard };
        this.want();
        const delay = retransmitDelay(this.ssl);
        if (delay !== undefined) {
          timer = setTimeout(() => {
            o.ERR_clear_error();
            if (retransmit(this.ssl) < 0) return finish(new TsocatError(`${call}(): ${takeError() ?? 'the peer did not answer'}`, 'ETIMEDOUT'));
            step();
          }, delay);
        }
      };
      const armQuiet = () => {
        clearTimeout(quiet);
        if (quietMs !== undefined) quiet = setTimeout(() => finish(new TsocatError(`${call}(): no answer within so-rcvtimeo (${quietMs / 1000} s)`, 'ETIMEDOUT')), quietMs);
      };
      const heard = () => {
        armQuiet();
        step();
      };
      armQuiet();
      step();
    });
  }

  /** The link as streams: records out of SSL_read as chunks, chunks into SSL_write. */
  streams(): { readable: Readable; writable: Writable } {
    this.readable = new Readable({
      objectMode: true,
      highWaterMark: 16,
      read: () => this.readSome(),
      destroy: (err, cb) => {
        this.readWanted = false;
        cb(err);
      },
    });
    this.writable = new Writable({
      write: (data: Buffer, _encoding, done) => {
        this.pendingWrite = { data, done };
        this.writeSome();
        this.want();
      },
      final: (done) => {
        this.sendCloseNotify();
        done();
      },
      destroy: (err, cb) => {
        this.pendingWrite = undefined;
        cb(err);
      },
    });
    return { readable: this.readable, writable: this.writable };
  }

  private readSome(): void {
    const readable = this.readable;
    if (!readable || readable.destroyed || this.closed) return;
    this.readWanted = !this.established;
    if (!this.established) return;
    const o = openssl();
    const buf = Buffer.allocUnsafe(RECORD_MAX + 1024);
    o.ERR_clear_error();
    const n = o.SSL_read(this.ssl, buf, buf.length);
    if (n > 0) {
      readable.push(buf.subarray(0, n));
      return;
    }
    const next = this.outcome('SSL_read', n);
    if (next === 'closed') readable.push(null);
    else if (next instanceof TsocatError) readable.destroy(next);
    else {
      this.readWanted = true;
      this.want();
    }
  }

  private writeSome(): void {
    const o = openssl();
    while (this.pendingWrite && !this.closed && this.established) {
      const { data, done } = this.pendingWrite;
      const piece = data.subarray(0, Math.min(this.recordSize, RECORD_MAX));
      o.ERR_clear_error();
      const n = o.SSL_write(this.ssl, piece, piece.length);
      if (n <= 0) {
        const next = this.outcome('SSL_write', n);
        if (next === 'read' || next === 'write') return;
        this.pendingWrite = undefined;
        done(next === 'closed' ? new TsocatError('SSL_write(): connection closed by peer', 'EPIPE') : next);
        return;
      }
      if (n < data.length) {
        this.pendingWrite = { data: data.subarray(n), done };
        continue;
      }
      this.pendingWrite = undefined;
      done();
    }
  }

  /** Our side is done writing: the peer reads end of file (a one-way shutdown, as socat's on EOF). */
  sendCloseNotify(): void {
    if (this.closed) return;
    const o = openssl();
    o.ERR_clear_error();
    o.SSL_shutdown(this.ssl);
    o.ERR_clear_error();
  }

  /** Frees the SSL object and closes the descriptor, once libuv has let go of it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.readable?.destroy();
    this.writable?.destroy();
    await this.watch.close();
    openssl().SSL_free(this.ssl);
    try {
      closeSync(this.fd);
    } catch {
      // already gone
    }
  }
}
