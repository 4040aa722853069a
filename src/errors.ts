/** Severity letters as socat prints them, from most to least severe. */
export type Level = 'F' | 'E' | 'W' | 'N' | 'I' | 'D';

/**
 * The one error type users ever see. `message` is a single socat-style line
 * (without timestamp or level); the CLI logs it at `level` and exits with
 * `exitStatus`. Anything else that escapes is a bug.
 */
export class TsocatError extends Error {
  readonly code: string;
  readonly level: Level;
  readonly exitStatus: number;

  constructor(message: string, code = 'EUSAGE', options: { level?: Level; exitStatus?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TsocatError';
    this.code = code;
    this.level = options.level ?? 'E';
    this.exitStatus = options.exitStatus ?? 1;
  }
}

/** Node system errors carry `code` and `syscall`; this recognises them. */
export interface SystemError extends Error {
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
  address?: string;
  port?: number;
}

const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EEXIST: 'File exists',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  EPIPE: 'Broken pipe',
  EBADF: 'Bad file descriptor',
  EINVAL: 'Invalid argument',
  ENXIO: 'No such device or address',
  ENOTSOCK: 'Socket operation on non-socket',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  ENOTFOUND: 'Name or service not known',
  EAI_AGAIN: 'Temporary failure in name resolution',
  EROFS: 'Read-only file system',
  ELOOP: 'Too many levels of symbolic links',
  EMFILE: 'Too many open files',
  ENOSPC: 'No space left on device',
  ESPIPE: 'Illegal seek',
  ENAMETOOLONG: 'File name too long',
  E2BIG: 'Argument list too long',
  EBUSY: 'Device or resource busy',
  EMSGSIZE: 'Message too long',
  EAGAIN: 'Resource temporarily unavailable',
  ENODEV: 'No such device',
  ENOTTY: 'Inappropriate ioctl for device',
  ETXTBSY: 'Text file busy',
  ENOTCONN: 'Transport endpoint is not connected',
  EOPNOTSUPP: 'Operation not supported',
  EPROTONOSUPPORT: 'Protocol not supported',
  ENOMEM: 'Cannot allocate memory',
  EFBIG: 'File too large',
};

/** The C library's wording for an errno name, as socat prints it via strerror(). */
export function strerror(err: SystemError | string | undefined): string {
  const code = typeof err === 'string' ? err : err?.code;
  if (code && STRERROR[code]) return STRERROR[code];
  if (typeof err === 'object' && err?.message) return err.message;
  return String(code ?? 'Unknown error');
}

/** Wraps a failed system call into a user-facing error worded like socat's `call(args): strerror`. */
export function systemError(call: string, err: unknown): TsocatError {
  const sys = err as SystemError;
  if (err instanceof TsocatError) return err;
  return new TsocatError(`${call}: ${strerror(sys)}`, sys?.code ?? 'ESYS', { cause: err });
}
