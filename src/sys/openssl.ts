/**
 * OpenSSL's C interface for DTLS, called through koffi on the copy of OpenSSL
 * that Node itself carries and exports (the symbols native addons link
 * against: DTLS_client_method, BIO_new_dgram, SSL_*). Node's tls module
 * speaks TLS over streams only, so DTLS is reached here; loading Debian's
 * libssl.so.3 instead would bind its libcrypto calls to Node's own copy, a
 * different release, in the same process. Loaded on first use, so only a
 * DTLS address pays for it.
 *
 * Every call here returns at once: the socket under the BIO is non-blocking,
 * and a call that would wait says so (SSL_ERROR_WANT_READ/WRITE); the caller
 * waits on the event loop (src/sys/poll.ts) and calls again.
 */
import { loadKoffi } from './builtins.js';


export const SSL_ERROR_SSL = 1;
export const SSL_ERROR_WANT_READ = 2;
export const SSL_ERROR_WANT_WRITE = 3;
export const SSL_ERROR_SYSCALL = 5;
export const SSL_ERROR_ZERO_RETURN = 6;
export const SSL_VERIFY_NONE = 0;
export const SSL_VERIFY_PEER = 1;
export const SSL_VERIFY_FAIL_IF_NO_PEER_CERT = 2;
export const DTLS1_VERSION = 0xfeff;
export const DTLS1_2_VERSION = 0xfefd;
const SSL_CTRL_SET_TLSEXT_HOSTNAME = 55;
const DTLS_CTRL_GET_TIMEOUT = 73;
const DTLS_CTRL_HANDLE_TIMEOUT = 74;
const SSL_CTRL_SET_MIN_PROTO_VERSION = 123;
const SSL_CTRL_SET_MAX_PROTO_VERSION = 124;
const BIO_NOCLOSE = 0;
const TLSEXT_NAMETYPE_host_name = 0;
const BIO_CTRL_PENDING = 10;
const BIO_CTRL_DGRAM_SET_CONNECTED = 32;

type Ptr = unknown;

interface Ssl {
  koffi: typeof import('koffi');
  DTLS_client_method: () => Ptr;
  DTLS_server_method: () => Ptr;
  SSL_CTX_new: (method: Ptr) => Ptr;
  SSL_CTX_free: (ctx: Ptr) => void;
  SSL_CTX_ctrl: (ctx: Ptr, cmd: number, larg: number, parg: Ptr) => number;
  SSL_CTX_use_certificate_chain_file: (ctx: Ptr, file: string) => number;
  SSL_CTX_use_PrivateKey_file: (ctx: Ptr, file: string, type: number) => number;
  SSL_CTX_check_private_key: (ctx: Ptr) => number;
  SSL_CTX_load_verify_locations: (ctx: Ptr, file: string | null, dir: string | null) => number;
  SSL_CTX_set_default_verify_paths: (ctx: Ptr) => number;
  SSL_CTX_set_verify: (ctx: Ptr, mode: number, cb: Ptr) => void;
  SSL_CTX_set_cipher_list: (ctx: Ptr, list: string) => number;
  SSL_new: (ctx: Ptr) => Ptr;
  SSL_free: (ssl: Ptr) => void;
  SSL_ctrl: (ssl: Ptr, cmd: number, larg: number, parg: Ptr) => number;
  SSL_set_bio: (ssl: Ptr, rbio: Ptr, wbio: Ptr) => void;
  SSL_set_connect_state: (ssl: Ptr) => void;
  SSL_set_accept_state: (ssl: Ptr) => void;
  SSL_do_handshake: (ssl: Ptr) => number;
  SSL_read: (ssl: Ptr, buf: Buffer, len: number) => number;
  SSL_write: (ssl: Ptr, buf: Buffer, len: number) => number;
  SSL_shutdown: (ssl: Ptr) => number;
  SSL_get_error: (ssl: Ptr, ret: number) => number;
  SSL_get_verify_result: (ssl: Ptr) => number;
  SSL_get_version: (ssl: Ptr) => string;
  SSL_get_current_cipher: (ssl: Ptr) => Ptr;
  SSL_CIPHER_get_name: (cipher: Ptr) => string;
  SSL_CIPHER_standard_name: (cipher: Ptr) => string;
  SSL_get1_peer_certificate: (ssl: Ptr) => Ptr;
  X509_free: (x: Ptr) => void;
  X509_verify_cert_error_string: (n: number) => string;
  BIO_new_dgram: (fd: number, close: number) => Ptr;
  BIO_new: (method: Ptr) => Ptr;
  BIO_s_mem: () => Ptr;
  BIO_free: (bio: Ptr) => number;
  BIO_ctrl: (bio: Ptr, cmd: number, larg: number, parg: Ptr) => number;
  BIO_read: (bio: Ptr, buf: Buffer, len: number) => number;
  i2d_X509_bio: (bio: Ptr, x: Ptr) => number;
  ERR_get_error: () => number;
  ERR_clear_error: () => void;
  ERR_error_string_n: (e: number, buf: Buffer, len: number) => void;
}

let lib: Ssl | undefined;

/** OpenSSL's functions, bound once, from the running Node's own copy. */
export function openssl(): Ssl {
  if (lib) return lib;
  const koffi = loadKoffi();
  const self = koffi.load(null as unknown as string);
  const f = (decl: string) => self.func(decl);
  lib = {
    koffi,
    DTLS_client_method: f('void *DTLS_client_method(void)'),
    DTLS_server_method: f('void *DTLS_server_method(void)'),
    SSL_CTX_new: f('void *SSL_CTX_new(void *method)'),
    SSL_CTX_free: f('void SSL_CTX_free(void *ctx)'),
    SSL_CTX_ctrl: f('long SSL_CTX_ctrl(void *ctx, int cmd, long larg, void *parg)'),
    SSL_CTX_use_certificate_chain_file: f('int SSL_CTX_use_certificate_chain_file(void *ctx, const char *file)'),
    SSL_CTX_use_PrivateKey_file: f('int SSL_CTX_use_PrivateKey_file(void *ctx, const char *file, int type)'),
    SSL_CTX_check_private_key: f('int SSL_CTX_check_private_key(void *ctx)'),
    SSL_CTX_load_verify_locations: f('int SSL_CTX_load_verify_locations(void *ctx, const char *file, const char *dir)'),
    SSL_CTX_set_default_verify_paths: f('int SSL_CTX_set_default_verify_paths(void *ctx)'),
    SSL_CTX_set_verify: f('void SSL_CTX_set_verify(void *ctx, int mode, void *cb)'),
    SSL_CTX_set_cipher_list: f('int SSL_CTX_set_cipher_list(void *ctx, const char *list)'),
    SSL_new: f('void *SSL_new(void *ctx)'),
    SSL_free: f('void SSL_free(void *ssl)'),
    SSL_ctrl: f('long SSL_ctrl(void *ssl, int cmd, long larg, void *parg)'),
    SSL_set_bio: f('void SSL_set_bio(void *ssl, void *rbio, void *wbio)'),
    SSL_set_connect_state: f('void SSL_set_connect_state(void *ssl)'),
    SSL_set_accept_state: f('void SSL_set_accept_state(void *ssl)'),
    SSL_do_handshake: f('int SSL_do_handshake(void *ssl)'),
    SSL_read: f('int SSL_read(void *ssl, void *buf, int num)'),
    SSL_write: f('int SSL_write(void *ssl, const void *buf, int num)'),
    SSL_shutdown: f('int SSL_shutdown(void *ssl)'),
    SSL_get_error: f('int SSL_get_error(void *ssl, int ret)'),
    SSL_get_verify_result: f('long SSL_get_verify_result(void *ssl)'),
    SSL_get_version: f('const char *SSL_get_version(void *ssl)'),
    SSL_get_current_cipher: f('void *SSL_get_current_cipher(void *ssl)'),
    SSL_CIPHER_get_name: f('const char *SSL_CIPHER_get_name(void *cipher)'),
    SSL_CIPHER_standard_name: f('const char *SSL_CIPHER_standard_name(void *cipher)'),
    SSL_get1_peer_certificate: f('void *SSL_get1_peer_certificate(void *ssl)'),
    X509_free: f('void X509_free(void *x)'),
    X509_verify_cert_error_string: f('const char *X509_verify_cert_error_string(long n)'),
    BIO_new_dgram: f('void *BIO_new_dgram(int fd, int close_flag)'),
    BIO_new: f('void *BIO_new(void *method)'),
    BIO_s_mem: f('void *BIO_s_mem(void)'),
    BIO_free: f('int BIO_free(void *bio)'),
    BIO_ctrl: f('long BIO_ctrl(void *bio, int cmd, long larg, void *parg)'),
    BIO_read: f('int BIO_read(void *bio, void *buf, int len)'),
    i2d_X509_bio: f('int i2d_X509_bio(void *bio, void *x)'),
    ERR_get_error: f('unsigned long ERR_get_error(void)'),
    ERR_clear_error: f('void ERR_clear_error(void)'),
    ERR_error_string_n: f('void ERR_error_string_n(unsigned long e, void *buf, size_t len)'),
  };
  return lib;
}

/** The oldest error OpenSSL queued in this thread, as ERR_error_string words it; the queue is emptied. */
export function takeError(): string | undefined {
  const ssl = openssl();
  let first: string | undefined;
  for (let e = ssl.ERR_get_error(); e !== 0; e = ssl.ERR_get_error()) {
    if (first !== undefined) continue;
    const buf = Buffer.alloc(256);
    ssl.ERR_error_string_n(e, buf, buf.length);
    first = buf.toString('latin1', 0, buf.indexOf(0));
  }
  return first;
}

/** SSL_CTX_set_min/max_proto_version (macros over SSL_CTX_ctrl). */
export function setProtoVersion(ctx: Ptr, which: 'min' | 'max', version: number): boolean {
  return openssl().SSL_CTX_ctrl(ctx, which === 'min' ? SSL_CTRL_SET_MIN_PROTO_VERSION : SSL_CTRL_SET_MAX_PROTO_VERSION, version, null) === 1;
}

/** SSL_set_tlsext_host_name: the name sent as SNI. */
export function setServerName(ssl: Ptr, name: string): boolean {
  return openssl().SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, Buffer.from(`${name}\0`)) === 1;
}

/**
 * A dgram BIO over `fd` (left open by the BIO), as both of the SSL's BIOs. `peer`: the
 * socket address `fd` is connected to; told to the BIO, it sends with send(), not sendto().
 */
export function attachDatagramSocket(ssl: Ptr, fd: number, peer: Buffer): void {
  const o = openssl();
  const bio = o.BIO_new_dgram(fd, BIO_NOCLOSE);
  // room for any BIO_ADDR: OpenSSL reads the address by its family
  const addr = Buffer.alloc(128);
  peer.copy(addr);
  o.BIO_ctrl(bio, BIO_CTRL_DGRAM_SET_CONNECTED, 0, addr);
  o.SSL_set_bio(ssl, bio, bio);
}

/** DTLSv1_get_timeout: milliseconds until the handshake's retransmission is due, or undefined when no timer runs. */
export function retransmitDelay(ssl: Ptr): number | undefined {
  const tv = Buffer.alloc(16);
  if (openssl().SSL_ctrl(ssl, DTLS_CTRL_GET_TIMEOUT, 0, tv) <= 0) return undefined;
  return Number(tv.readBigInt64LE(0)) * 1000 + Math.ceil(Number(tv.readBigInt64LE(8)) / 1000);
}

/** DTLSv1_handle_timeout: retransmits what is due; negative when the handshake gave up. */
export function retransmit(ssl: Ptr): number {
  return openssl().SSL_ctrl(ssl, DTLS_CTRL_HANDLE_TIMEOUT, 0, null);
}

/** The peer's certificate in DER, or undefined when it sent none. */
export function peerCertificateDer(ssl: Ptr): Buffer | undefined {
  const o = openssl();
  const x = o.SSL_get1_peer_certificate(ssl);
  if (!x) return undefined;
  const bio = o.BIO_new(o.BIO_s_mem());
  try {
    if (o.i2d_X509_bio(bio, x) !== 1) return undefined;
    const size = o.BIO_ctrl(bio, BIO_CTRL_PENDING, 0, null);
    const der = Buffer.alloc(size);
    return der.subarray(0, Math.max(0, o.BIO_read(bio, der, size)));
  } finally {
    o.BIO_free(bio);
    o.X509_free(x);
  }
}
