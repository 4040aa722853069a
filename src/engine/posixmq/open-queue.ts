/**
 * Opening a POSIX message queue as socat 1.8 does (xio-posixmq.c): flush
 * and unlink-early first when asked, then mq_open with O_CREAT unless
 * o-creat=0, mode 0666 unless perm, and the attributes of a new queue when
 * mq-maxmsg or mq-msgsize is given (the other one then from /proc, as the
 * kernel would pick it). The descriptor is always non-blocking, so nothing
 * here or later waits inside a call: the event loop says when it is ready.
 */
import { readFileSync } from 'node:fs';
import type { ResolvedOptions } from '../../../options/catalog.js';
import { TsocatError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import {
  mqClose,
  mqGetattr,
  mqOpen,
  mqReceive,
  mqUnlink,
  O_CLOEXEC,
  O_CREAT,
  O_EXCL,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  type QueueAttributes,
  QueueError,
} from '../../sys/mqueue.js';
import type { AccessMode } from '../endpoint.js';

export interface OpenedQueue {
  mqd: number;
  attributes: QueueAttributes;
}

const octal = (n: number) => `0${n.toString(8).padStart(3, '0')}`;

/** The default the kernel gives a new queue, for the one of maxmsg/msgsize left out. */
function procDefault(file: string, log: Logger): number {
  const path = `/proc/sys/fs/mqueue/${file}`;
  try {
    return Number.parseInt(readFileSync(path, 'utf8'), 10) || 0;
  } catch (err) {
    log.log('W', `open("${path}", O_RDONLY, 0): ${(err as Error).message}`);
    return 0;
  }
}

/** mq-flush: reads whatever the queue holds now into nothing; a queue that does not exist needs none. */
function flushQueue(name: string, log: Logger): void {
  log.log('I', `flushing POSIXMQ queue "${name}"`);
  let mqd: number;
  try {
    mqd = mqOpen(name, O_RDONLY | O_NONBLOCK, 0);
  } catch (err) {
    if (err instanceof QueueError && err.missing) return void log.log('I', 'this queue does not exist, no need to flush it');
    throw new TsocatError(`mq_open("${name}", ...): ${(err as Error).message}`, 'EMQUEUE');
  }
  try {
    const attr = mqGetattr(mqd);
    if (attr.curmsgs === 0) return void log.log('I', `POSIXMQ "${name}" is empty`);
    const buf = Buffer.allocUnsafe(attr.msgsize);
    let packets = 0;
    let bytes = 0;
    for (let got = mqReceive(mqd, buf); got; got = mqReceive(mqd, buf)) {
      packets++;
      bytes += got.length;
    }
    log.log('I', `flushed ${bytes} bytes in ${packets} packets from queue "${name}"`);
  } catch (err) {
    throw new TsocatError(`flushing POSIXMQ "${name}" failed: ${(err as Error).message}`, 'EMQUEUE');
  } finally {
    mqClose(mqd);
  }
}

/** unlink-early, unlink-close: a queue that is not there is worth a line at `level`, nothing more. */
export function unlinkQueue(name: string, log: Logger, level: 'I' | 'W'): void {
  try {
    mqUnlink(name);
  } catch (err) {
    log.log(level, `mq_unlink("${name}"): ${(err as Error).message}`);
  }
}

/**
 * Opens the queue `name` for `mode`. `first` is false when a forking sender
 * opens it again for its next session: flush and unlink-early happened once.
 * Errors are socat's lines, prefixed with the keyword.
 */
export function openQueue(keyword: string, name: string, mode: AccessMode, o: ResolvedOptions, log: Logger, first = true): OpenedQueue {
  if (first && o.bool('posixmq-flush')) flushQueue(name, log);
  if (first && o.bool('unlink-early')) unlinkQueue(name, log, 'I');
  let oflag = o.has('o-creat') && !o.bool('o-creat') ? 0 : O_CREAT;
  if (o.bool('o-excl')) oflag |= O_EXCL;
  if (!o.has('cloexec') || o.bool('cloexec')) oflag |= O_CLOEXEC;
  oflag |= mode === 'rw' ? O_RDWR : mode === 'r' ? O_RDONLY : O_WRONLY;
  // tsocat's own non-blocking is not in the flags it reports, so its lines read as socat's
  if (o.bool('o-nonblock')) oflag |= O_NONBLOCK;
  const perm = o.number('perm') ?? 0o666;
  let attr: Pick<QueueAttributes, 'flags' | 'maxmsg' | 'msgsize' | 'curmsgs'> | undefined;
  if (o.has('posixmq-maxmsg') || o.has('posixmq-msgsize')) {
    attr = {
      flags: 0,
      maxmsg: o.number('posixmq-maxmsg') || procDefault('msg_default', log),
      msgsize: o.number('posixmq-msgsize') || procDefault('msgsize_default', log),
      curmsgs: 0,
    };
  }
  const shown = attr ? `{flags=0, maxmsg=${attr.maxmsg}, msgsize=${attr.msgsize}, curmsgs=0} ` : 'NULL';
  const call = `mq_open("${name}", ${octal(oflag)}, ${octal(perm)}, ${shown})`;
  log.log('D', `${keyword}: ${call}`);
  let mqd: number;
  try {
    mqd = mqOpen(name, oflag | O_NONBLOCK, perm, attr);
  } catch (err) {
    throw new TsocatError(`${keyword}: ${call}: ${(err as Error).message}`, 'EMQUEUE');
  }
  try {
    const attributes = mqGetattr(mqd);
    if (!(oflag & O_NONBLOCK)) attributes.flags &= ~O_NONBLOCK;
    log.log('I', `POSIXMQ queue "${name}" attrs: { flags=${attributes.flags}, maxmsg=${attributes.maxmsg}, msgsize=${attributes.msgsize}, curmsgs=${attributes.curmsgs} }`);
    if (attr && attributes.maxmsg !== attr.maxmsg) log.log('W', `mq_open(): requested maxmsg=${attr.maxmsg}, but result is ${attributes.maxmsg}`);
    if (attr && attributes.msgsize !== attr.msgsize) log.log('W', `mq_open(): requested msgsize=${attr.msgsize}, but result is ${attributes.msgsize}`);
    return { mqd, attributes };
  } catch (err) {
    mqClose(mqd);
    throw new TsocatError(`mq_getattr(${mqd}["${name}"]): ${(err as Error).message}`, 'EMQUEUE');
  }
}
