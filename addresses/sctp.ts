/** SCTP-CONNECT, SCTP-LISTEN and their IPv4/IPv6 forms: SCTP streams where the kernel offers them (the sctp module). */
import { ipStreamAddresses } from '../src/engine/sockets/kernel/ip-stream.js';
import { SOCK_STREAM } from '../src/sys/sockets.js';

const IPPROTO_SCTP = 132;

export default ipStreamAddresses({ name: 'SCTP', type: SOCK_STREAM, protocol: IPPROTO_SCTP, what: 'an SCTP association (one-to-one style)' });
