import { defineOptions } from './catalog.js';

/** SOCKS4, SOCKS4A and SOCKS5 clients (socat's SOCKS group). */
export default defineOptions([
  { name: 'socksport', type: 'string', groups: ['SOCKS'], phase: 'connect', summary: 'port of the SOCKS server (default 1080)' },
  { name: 'socksuser', type: 'string', groups: ['SOCKS'], phase: 'connect', summary: 'user name: SOCKS4 USERID (default $LOGNAME or $USER), SOCKS5 username/password authentication' },
  { name: 'sockspass', type: 'string', groups: ['SOCKS'], phase: 'connect', summary: 'SOCKS5 password for socksuser; never logged' },
]);
