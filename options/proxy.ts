import { defineOptions } from './catalog.js';

/** The HTTP CONNECT proxy client (socat's HTTP group). */
export default defineOptions([
  { name: 'proxyport', type: 'string', groups: ['HTTP'], phase: 'connect', summary: 'port of the HTTP proxy (default 8080)' },
  { name: 'proxy-authorization', aliases: ['proxy-auth', 'proxyauth'], type: 'string', groups: ['HTTP'], phase: 'connect', summary: '<user>:<password> for the proxy (Basic authorization); never logged' },
  { name: 'proxy-authorization-file', aliases: ['proxyauthfile'], type: 'filename', groups: ['HTTP'], phase: 'connect', summary: 'file holding <user>:<password> for the proxy (Basic authorization); never logged' },
  { name: 'proxy-resolve', aliases: ['resolve', 'resolv'], type: 'bool', groups: ['HTTP'], phase: 'connect', summary: 'resolve <hostname> here and ask the proxy for its IP address' },
  { name: 'ignorecr', type: 'bool', groups: ['HTTP'], phase: 'connect', summary: "accept the proxy's answer lines ended by LF alone" },
  { name: 'http-version', type: 'string', groups: ['HTTP'], phase: 'connect', values: ['1.0', '1.1'], summary: 'HTTP version of the CONNECT request: 1.0 (default) or 1.1' },
]);
