/**
 * A UDP socket read with recvmsg(), for the options that ask the kernel for
 * ancillary data with each packet (ancillary.ts): node:dgram reads with
 * recvmmsg and drops control messages. The event loop watches the descriptor
 * (src/sys/poll.ts); the object offers the few node:dgram calls the UDP
 * addresses use (message events, send, address, close), each 'message'
 * carrying the packet's control messages.
 */
import { EventEmitter } from 'node:events';
import { DescriptorWatch, UV_READABLE } from '../../../sys/poll.js';
import { closeDescriptor, localAddressOf, receive, sendOn } from '../../../sys/sockets.js';
import { inetSockaddr, parseSockaddr } from '../sockaddr.js';
import { CONTROL_SIZE } from './ancillary.js';

const PACKET_MAX = 65536;
const READS_PER_TURN = 32;

export interface AncillaryInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
  size: number;
  /** The packet's control messages (ancillary.ts reads them). */
  control?: Buffer;
}

/**
 * A bound UDP descriptor read with recvmsg(); 'message' is (packet, sender
 * with its control messages), 'packetError' an error report's control messages.
 */
export class AncillaryDatagramSocket extends EventEmitter {
  private readonly watch: DescriptorWatch;
  private readonly buf = Buffer.allocUnsafe(PACKET_MAX);
  private closed = false;

  constructor(private readonly fd: number) {
    super();
    this.watch = new DescriptorWatch(fd, (status) => {
      if (status < 0) {
        // libuv stops a watch on POLLERR (a queued ICMP report with ip-recverr): start it again, then read what is there
        this.watch.want(0);
        this.watch.want(UV_READABLE);
      }
      this.readSome();
    });
    this.watch.want(UV_READABLE);
  }

  private readSome(): void {
    for (let i = 0; i < READS_PER_TURN && !this.closed; i++) {
      let got: ReturnType<typeof receive>;
      try {
        got = receive(this.fd, this.buf, { from: true, control: CONTROL_SIZE });
      } catch (err) {
        // with ip-recverr the kernel reports ICMP errors about sent packets here too; socat logs them and reads on
        const report = this.queuedError();
        if (report) {
          this.emit('packetError', report);
          continue;
        }
        this.emit('error', err);
        return;
      }
      if (!got) return;
      const from = got.from ? parseSockaddr(got.from) : undefined;
      if (!from || (from.family !== 'inet4' && from.family !== 'inet6')) continue;
      const packet = Buffer.from(this.buf.subarray(0, Math.min(got.length, this.buf.length)));
      const info: AncillaryInfo = {
        address: from.address,
        family: from.family === 'inet6' ? 'IPv6' : 'IPv4',
        port: from.port,
        size: packet.length,
        control: got.control,
      };
      this.emit('message', packet, info);
    }
  }

  /** The next report of the socket's error queue (IP_RECVERR), as its control messages; undefined when the queue is empty. */
  private queuedError(): Buffer | undefined {
    try {
      return receive(this.fd, this.buf, { from: true, control: CONTROL_SIZE, errorQueue: true })?.control;
    } catch {
      return undefined;
    }
  }

  /** One packet to address:port; a full socket buffer drops it, as the kernel would. */
  send(data: Buffer, port: number, address: string, done?: (err: Error | null) => void): void {
    try {
      sendOn(this.fd, data, inetSockaddr(address, port));
      done?.(null);
    } catch (err) {
      done?.(err as Error);
    }
  }

  address(): { address: string; family: string; port: number } {
    const a = parseSockaddr(localAddressOf(this.fd));
    return a.family === 'inet4' || a.family === 'inet6' ? { address: a.address, family: a.family === 'inet6' ? 'IPv6' : 'IPv4', port: a.port } : { address: '', family: '', port: 0 };
  }

  close(done?: () => void): void {
    if (this.closed) {
      done?.();
      return;
    }
    this.closed = true;
    void this.watch.close().then(() => {
      closeDescriptor(this.fd);
      this.emit('close');
      done?.();
    });
  }
}
