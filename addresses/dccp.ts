/** DCCP-CONNECT, DCCP-LISTEN and their IPv4/IPv6 forms: DCCP connections where the kernel offers them (the dccp module). */
import { ipStreamAddresses } from '../src/engine/sockets/kernel/ip-stream.js';

const SOCK_DCCP = 6;
const IPPROTO_DCCP = 33;

export default ipStreamAddresses({ name: 'DCCP', type: SOCK_DCCP, protocol: IPPROTO_DCCP, what: 'a DCCP connection' });
