/**
 * One DNS question (A or AAAA) asked of one server over UDP, as the C
 * resolver asks it for socat's res-* options: the name exactly as written
 * (c-ares, Node's own DNS client, lowercases it), `tries` questions each
 * waiting `timeoutMs` for the answer, recursion desired unless told not to.
 * The packets are made and read by dns-packet (a maintained codec); it,
 * node:dgram and node:crypto are loaded only when an address has res-nsaddr.
 */
import { crypto, dgram, dnsPacket } from '../../../sys/builtins.js';

export interface Question {
  name: string;
  family: 4 | 6;
  server: { host: string; port: number };
  tries: number;
  timeoutMs: number;
  /** The RD bit: ask the server to look the name up on our behalf (libresolv's RES_RECURSE, on by default). */
  recurse: boolean;
}

/** How a question ended: the addresses the server gave, or why there are none. */
export type Answer = { addresses: string[] } | { failure: 'ENOTFOUND' | 'ENODATA' | 'EAI_AGAIN' };

const NXDOMAIN = 'NXDOMAIN';

/** Asks, and waits for the answer whose id is ours from the server we asked; other datagrams are passed over. */
export function ask(q: Question): Promise<Answer> {
  const packet = dnsPacket();
  const type = q.family === 6 ? 'AAAA' : 'A';
  const id = crypto().randomInt(0, 0x10000);
  const query = packet.encode({ type: 'query', id, flags: q.recurse ? packet.RECURSION_DESIRED : 0, questions: [{ type, name: q.name, class: 'IN' }] });
  const socket = dgram().createSocket('udp4');
  return new Promise<Answer>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let sent = 0;
    const finish = (answer: Answer) => {
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    };
    const send = () => {
      if (sent++ === q.tries) return finish({ failure: 'EAI_AGAIN' });
      // a send that fails (no route, a refused port reported back) counts as a question left unanswered
      socket.send(query, q.server.port, q.server.host, () => {});
      timer = setTimeout(send, q.timeoutMs);
    };
    socket.on('error', () => {});
    socket.on('message', (data, from) => {
      if (from.address !== q.server.host || from.port !== q.server.port) return;
      let reply: ReturnType<typeof packet.decode>;
      try {
        reply = packet.decode(data);
      } catch {
        return;
      }
      if (reply.id !== id || reply.type !== 'response') return;
      // dns-packet names the response code (its typings leave the field out)
      const rcode = (reply as { rcode?: string }).rcode;
      if (rcode === NXDOMAIN) return finish({ failure: 'ENOTFOUND' });
      if (rcode !== 'NOERROR') return finish({ failure: 'EAI_AGAIN' });
      // a CNAME chain comes first; the addresses are the records of the asked type
      const addresses = (reply.answers ?? []).flatMap((a) => (a.type === type ? [a.data] : []));
      finish(addresses.length ? { addresses } : { failure: 'ENODATA' });
    });
    socket.bind(0, () => send());
  });
}
