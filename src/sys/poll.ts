/**
 * The event loop watching any descriptor: libuv's uv_poll, called through
 * koffi from the symbols Node itself exports (the ones native addons link
 * against). Node's own handles cover TCP, UNIX stream sockets, pipes, UDP
 * and terminals; datagram and seqpacket UNIX sockets, socket pairs, raw IP
 * and generic SOCKET-* descriptors have none, and this is how tsocat hears
 * that they are readable or writable: no busy polling, no thread held per
 * descriptor. The callbacks run on the main thread, inside the loop, like any
 * other I/O callback.
 *
 * libuv calls these callbacks directly, not through Node's callback scope, so
 * nothing would run the microtasks (promise continuations) they queue until
 * some other event woke Node. Each callback therefore only notes what
 * happened and hands the work to one setImmediate, which Node runs as usual,
 * in the same loop iteration (the check phase follows the poll phase).
 *
 * A watch made `direct` skips that hop: its handler runs inside libuv's
 * callback, for work that queues no microtasks (the zero-copy path's splices,
 * which hand anything promise-shaped to a setImmediate of their own): a
 * request/response relay then spends no loop turn per message on the hop.
 */
import { loadKoffi } from './builtins.js';


const UV_POLL = 8; // uv_handle_type
export const UV_READABLE = 1;
export const UV_WRITABLE = 2;
export const UV_DISCONNECT = 4;

export type PollHandler = (status: number, events: number) => void;

/**
 * /dev/null, /dev/zero and /dev/full (Linux character devices 1:3, 1:5, 1:7)
 * have no poll operation, so uv_poll_init refuses them; known here without
 * loading koffi to ask (they are always ready and never make a read or write wait).
 */
export function pollRefusesDevice(rdev: number): boolean {
  return process.platform === 'linux' && rdev >> 8 === 1 && [3, 5, 7].includes(rdev & 0xff);
}

interface Uv {
  koffi: typeof import('koffi');
  loop: unknown;
  handleSize: number;
  init: (loop: unknown, handle: unknown, fd: number) => number;
  start: (handle: unknown, events: number, cb: unknown) => number;
  stop: (handle: unknown) => number;
  close: (handle: unknown, cb: unknown) => void;
  unref: (handle: unknown) => void;
  ref: (handle: unknown) => void;
  strerror: (err: number) => string;
  onPoll: unknown;
  onClose: unknown;
}

/** Watches by handle address: one registered callback serves every handle. */
const watchers = new Map<bigint, PollHandler>();
/** The direct watches' handlers, called from libuv's callback itself. */
const directWatchers = new Map<bigint, PollHandler>();
const closing = new Map<bigint, () => void>();
let uv: Uv | undefined;

/** What libuv reported since the last turn: handle → [status, events], and closes done. */
const reported = new Map<bigint, [number, number]>();
const closed: Array<() => void> = [];
let turnScheduled = false;

function scheduleTurn(): void {
  if (turnScheduled) return;
  turnScheduled = true;
  setImmediate(runTurn);
}

function runTurn(): void {
  turnScheduled = false;
  const events = [...reported];
  reported.clear();
  for (const [key, [status, ev]] of events) watchers.get(key)?.(status, ev);
  for (const done of closed.splice(0)) done();
}

function runDirect(handler: PollHandler, status: number, events: number): void {
  try {
    handler(status, events);
  } catch (err) {
    // thrown where Node would have thrown it from any other callback, not into libuv's C frame
    setImmediate(() => {
      throw err;
    });
  }
}

function load(): Uv {
  if (uv) return uv;
  const koffi = loadKoffi();
  const self = koffi.load(null as unknown as string);
  const pollCb = koffi.proto('void tsocat_uv_poll_cb(void *handle, int status, int events)');
  const closeCb = koffi.proto('void tsocat_uv_close_cb(void *handle)');
  const defaultLoop = self.func('void *uv_default_loop(void)');
  const handleSize = self.func('size_t uv_handle_size(int)');
  const onPoll = koffi.register((handle: unknown, status: number, events: number) => {
    const key = koffi.address(handle) as bigint;
    const direct = directWatchers.get(key);
    if (direct) return runDirect(direct, status, events);
    const before = reported.get(key);
    reported.set(key, [status < 0 ? status : (before?.[0] ?? status), events | (before?.[1] ?? 0)]);
    scheduleTurn();
  }, koffi.pointer(pollCb));
  const onClose = koffi.register((handle: unknown) => {
    const key = koffi.address(handle) as bigint;
    const done = closing.get(key);
    closing.delete(key);
    if (done) closed.push(done);
    scheduleTurn();
  }, koffi.pointer(closeCb));
  uv = {
    koffi,
    loop: defaultLoop(),
    handleSize: Number(handleSize(UV_POLL)),
    init: self.func('int uv_poll_init(void *loop, void *handle, int fd)'),
    start: self.func('int uv_poll_start(void *handle, int events, tsocat_uv_poll_cb *cb)'),
    stop: self.func('int uv_poll_stop(void *handle)'),
    close: self.func('void uv_close(void *handle, tsocat_uv_close_cb *cb)'),
    unref: self.func('void uv_unref(void *handle)'),
    ref: self.func('void uv_ref(void *handle)'),
    strerror: self.func('const char *uv_strerror(int err)'),
    onPoll,
    onClose,
  };
  return uv;
}

/** One descriptor watched by the event loop. Wants nothing until told. */
export class DescriptorWatch {
  private readonly handle: unknown;
  private readonly key: bigint;
  private events = 0;
  private closed = false;

  /**
   * `hangUps: false` leaves out UV_DISCONNECT: a socket whose peer has sent its
   * end of file stays "disconnected", and a watch for writability alone would be
   * woken on every turn while the socket is full (a read meets the end of file anyway).
   * `direct: true` calls the handler inside libuv's callback (see above): it must queue no microtasks.
   */
  constructor(
    fd: number,
    handler: PollHandler,
    private readonly hangUps = true,
    direct = false,
  ) {
    const u = load();
    this.handle = u.koffi.alloc('uint8_t', u.handleSize);
    const err = u.init(u.loop, this.handle, fd);
    if (err < 0) {
      u.koffi.free(this.handle);
      throw Object.assign(new Error(`uv_poll_init(${fd}): ${u.strerror(err)}`), { code: 'EPOLL' });
    }
    this.key = u.koffi.address(this.handle) as bigint;
    (direct ? directWatchers : watchers).set(this.key, handler);
  }

  /** Which readiness to be told about (UV_READABLE | UV_WRITABLE); 0 stops watching. */
  want(events: number): void {
    if (this.closed || events === this.events) return;
    this.events = events;
    const u = load();
    if (events === 0) u.stop(this.handle);
    else u.start(this.handle, this.hangUps ? events | UV_DISCONNECT : events, u.onPoll);
  }

  /** Whether the watch keeps the process alive while it waits (as any socket does by default). */
  keepAlive(on: boolean): void {
    if (this.closed) return;
    const u = load();
    on ? u.ref(this.handle) : u.unref(this.handle);
  }

  /** Stops watching and frees the handle once libuv has let go of it. The descriptor is the caller's to close, after this resolves. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    const u = load();
    watchers.delete(this.key);
    directWatchers.delete(this.key);
    reported.delete(this.key);
    return new Promise((resolve) => {
      closing.set(this.key, () => {
        u.koffi.free(this.handle);
        resolve();
      });
      u.close(this.handle, u.onClose);
    });
  }
}
