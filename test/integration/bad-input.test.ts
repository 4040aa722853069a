/**
 * Command lines a user can get wrong: each ends with exactly one socat-style
 * log line naming the problem, exit status 1, no stack trace, nothing on
 * stdout, and no file created or changed on the way.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, tempDir, tsocat } from '../helpers.js';

const ONE_LOG_LINE = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d tsocat\[\d+\] E (.*)\n$/;
const CONTENT = 'keep me\n';
const NESTED = `${'['.repeat(3000)}${']'.repeat(3000)}`;
/** Longer than NAME_MAX (255), the longest name one path component may have. */
const LONG_NAME = 'a'.repeat(300);

interface BadLine {
  args: (port: number) => string[];
  /** The message after `E `, exactly (a pattern only where the resolver's wording may vary). */
  message: string | RegExp | ((port: number) => string | RegExp);
}

const BAD_LINES: Record<string, BadLine> = {
  'unknown address type': { args: () => ['NOSUCH:x', '-'], message: 'unknown device/address "NOSUCH"' },
  'unknown option': { args: () => ['-', 'PIPE,nosuchopt'], message: 'parseopts_table(): unknown option "nosuchopt"' },
  'option of another group': { args: () => ['-u', 'OPEN:existing,nodelay', 'STDOUT'], message: 'parseopts_table(): option "nodelay" not supported with this address type' },
  'listener option on a client': { args: () => ['-', 'TCP:127.0.0.1:1,range=10.0.0.0/8'], message: 'parseopts_table(): option "range" not supported with this address type' },
  'open flag on CREATE': { args: () => ['-u', 'STDIN', 'CREATE:existing,excl'], message: 'parseopts_table(): option "excl" not supported with this address type' },
  'port out of range': { args: () => ['-', 'TCP:127.0.0.1:99999'], message: 'port 99999 is out of range: a port is a number from 0 to 65535' },
  'listening port out of range': { args: () => ['TCP-LISTEN:65536', '-'], message: 'port 65536 is out of range: a port is a number from 0 to 65535' },
  'bind port out of range': { args: () => ['-', 'TCP:127.0.0.1:1,bind=:99999'], message: 'port 99999 is out of range: a port is a number from 0 to 65535' },
  'proxy port out of range': { args: () => ['-', 'PROXY:127.0.0.1:example.org:80,proxyport=99999'], message: 'port 99999 is out of range: a port is a number from 0 to 65535' },
  'UDP port out of range': { args: () => ['-', 'UDP:127.0.0.1:70000'], message: 'port 70000 is out of range: a port is a number from 0 to 65535' },
  'port that is not a number or service': { args: () => ['-', 'TCP:127.0.0.1:nosuchservice'], message: 'getaddrinfo("127.0.0.1", "nosuchservice", {}): Servname not supported for ai_socktype' },
  'missing file': { args: () => ['-u', 'OPEN:missing', 'STDOUT'], message: 'open("missing", 00, 0666): No such file or directory' },
  'directory opened as a file': { args: () => ['-', 'OPEN:dir'], message: 'open("dir", 02, 0666): Is a directory' },
  'CREATE in a missing directory': { args: () => ['-u', 'STDIN', 'CREATE:nodir/file'], message: 'creat("nodir/file", 0666): No such file or directory' },
  'refused connection': { args: (p) => ['-', `TCP:127.0.0.1:${p}`], message: (p) => `connect(AF=2 127.0.0.1:${p}): Connection refused` },
  'not a number': { args: () => ['-', 'TCP:127.0.0.1:1,rcvbuf=abc'], message: 'parseopts(): missing numerical value of option "rcvbuf=abc"' },
  'number with trailing garbage': { args: () => ['-', 'TCP:127.0.0.1:1,retry=1,interval=1x'], message: 'parseopts(): trailing garbage in numerical arg of option "interval=1x"' },
  'bad backlog on a listener': { args: () => ['TCP-LISTEN:0,backlog=x', '-'], message: 'parseopts(): missing numerical value of option "backlog=x"' },
  'bad octal permission on CREATE': { args: () => ['-u', 'STDIN', 'CREATE:newfile,perm=99x'], message: 'parseopts(): missing numerical value of option "perm=99x"' },
  'listener bind host that does not resolve': {
    args: (p) => [`TCP4-LISTEN:${p},bind=nosuchhost.invalid`, '-'],
    message: /^getaddrinfo\("nosuchhost\.invalid", "NULL", \{\}\): (Name or service not known|Temporary failure in name resolution)$/,
  },
  'so-reuseport with a bind host that does not resolve': {
    args: (p) => [`TCP4-LISTEN:${p},bind=nosuchhost.invalid,so-reuseport`, '-'],
    message: /^getaddrinfo\("nosuchhost\.invalid", "NULL", \{\}\): (Name or service not known|Temporary failure in name resolution)$/,
  },
  'client bind host that does not resolve': {
    args: (p) => ['-', `TCP4:127.0.0.1:${p},bind=nosuchhost.invalid`],
    message: /^getaddrinfo\("nosuchhost\.invalid", "NULL", \{\}\): (Name or service not known|Temporary failure in name resolution)$/,
  },
  'ipv6-v6only on TCP4-LISTEN': { args: () => ['TCP4-LISTEN:0,ipv6-v6only=1', '-'], message: 'parseopts_table(): option "ipv6-v6only" not supported with this address type' },
  'ipv6-v6only on a listener that is IPv4': { args: () => ['TCP-LISTEN:0,ipv6-v6only=1', '-'], message: 'setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, {1}): Protocol not available' },
  'a terminal option on a pipe': { args: () => ['-u', 'STDIN,raw,echo=0', 'STDOUT'], message: 'tcgetattr(0): Inappropriate ioctl for device' },
  'bad range': { args: () => ['TCP-LISTEN:0,range=10.0.0.0/99', '-'], message: 'netmask "10.0.0.0/99" is too large' },
  'value missing': { args: () => ['-', 'OPEN:existing,perm'], message: 'option "perm": value required' },
  'unknown user': { args: () => ['-u', 'STDIN', 'OPEN:existing,user=nosuchuserx'], message: 'getpwnam("nosuchuserx"): no such user' },
  'unbalanced single quote': { args: () => ['-', "SYSTEM:'echo"], message: 'unexpected end of address "SYSTEM:\'echo"' },
  'unbalanced double quote': { args: () => ['-', 'SYSTEM:echo "x'], message: 'unexpected end of address "SYSTEM:echo "x"' },
  'unbalanced bracket': { args: () => ['-', 'TCP6:[::1:80'], message: 'TCP6: wrong number of parameters (1 instead of 2): usage: TCP6:<host>:<port>' },
  'too few parameters': { args: () => ['-', 'TCP:127.0.0.1'], message: 'TCP: wrong number of parameters (1 instead of 2): usage: TCP:<host>:<port>' },
  'no parameter': { args: () => ['-', 'OPEN'], message: 'OPEN: wrong number of parameters (0 instead of 1): usage: OPEN:<filename>' },
  'one address': { args: () => ['-'], message: 'exactly 2 addresses required (there are 1); use option "-h" for help' },
  'three addresses': { args: () => ['-', '-', '-'], message: 'exactly 2 addresses required (there are 3); use option "-h" for help' },
  'unknown flag': { args: () => ['-Q', '-', '-'], message: 'unknown option "-Q"; use option "-h" for help' },
  'bad -t': { args: () => ['-t', 'abc', '-', '-'], message: 'parseopts(): missing numerical value of option "-t"' },
  'bad -d': { args: () => ['-d9', '-', '-'], message: 'Invalid (trailing) character(s) "9" in "-d9"option' },
  'program that does not exist': { args: () => ['-', 'EXEC:/nonexistent/prog'], message: 'execvp("/nonexistent/prog", ...): No such file or directory' },
  'second address fails after the first opened': { args: () => ['-u', 'OPEN:existing', 'CREATE:/nonexistent/x'], message: 'creat("/nonexistent/x", 0666): No such file or directory' },
  'WS with a URL of another scheme': { args: () => ['-', 'WS:http://127.0.0.1:1/'], message: '"http://127.0.0.1:1/": WS takes a ws:// URL' },
  'WSS with a ws:// URL': { args: () => ['-', 'WSS:ws://127.0.0.1:1/'], message: '"ws://127.0.0.1:1/": WSS takes a wss:// URL' },
  'WS with no URL': { args: () => ['-', 'WS'], message: 'WS: wrong number of parameters (0 instead of 1): usage: WS:<url>' },
  'ws-header without a colon': { args: () => ['-', 'WS:ws://127.0.0.1:1/,ws-header=NoColon'], message: 'option "ws-header=NoColon": expected <name>:<value>, a header name without spaces' },
  'ws-auth without a password': { args: () => ['-', 'WS:ws://127.0.0.1:1/,ws-auth=user'], message: 'option "ws-auth=user": expected <user>:<password>' },
  'ws-binary with ws-text': { args: () => ['-', 'WS:ws://127.0.0.1:1/,ws-binary,ws-text'], message: 'options "ws-binary" and "ws-text" exclude each other' },
  'ws-ping that is not a number': { args: () => ['WS-LISTEN:0,ws-ping=often', '-'], message: 'parseopts(): missing numerical value of option "ws-ping=often"' },
  'a WebSocket option on TCP': { args: () => ['-', 'TCP:127.0.0.1:1,ws-text'], message: 'parseopts_table(): option "ws-text" not supported with this address type' },
  'an OPENSSL option on WS-LISTEN': { args: () => ['WS-LISTEN:0,cert=x.pem', '-'], message: 'parseopts_table(): option "cert" not supported with this address type' },
  'WSS-LISTEN without a certificate': { args: () => ['WSS-LISTEN:0', '-'], message: 'no certificate given; consider option "cert"' },
  'WS to a port where nothing listens': { args: (p) => ['-', `WS:ws://127.0.0.1:${p}/`], message: (p) => `connect(AF=2 127.0.0.1:${p}): Connection refused` },
  'fingerprint that is not 64 hex digits': { args: () => ['-', 'OPENSSL:127.0.0.1:1,fingerprint=12:34'], message: 'option "fingerprint=12:34": expected a SHA-256 fingerprint, 64 hex digits (colons between pairs allowed)' },
  'fingerprint on a listener': { args: () => [`OPENSSL-LISTEN:0,cert=auto,fingerprint=${'ab'.repeat(32)}`, '-'], message: 'option "fingerprint" applies to a TLS client (OPENSSL, WSS): it pins the server\'s certificate' },
  'key= with cert=auto': { args: () => ['OPENSSL-LISTEN:0,cert=auto,key=/nonexistent.key', '-'], message: 'option "key" does not go with cert=auto (the key is made with the certificate)' },
  'a PROXY protocol version that does not exist': { args: () => ['-', 'TCP:127.0.0.1:1,proxy-protocol-send=v3'], message: 'option "proxy-protocol-send=v3": the PROXY protocol version is v1 (text) or v2 (binary)' },
  'proxy-protocol on a client': { args: () => ['-', 'TCP:127.0.0.1:1,proxy-protocol'], message: 'parseopts_table(): option "proxy-protocol" not supported with this address type' },
  'proxy-protocol-send on a listener': { args: () => ['TCP-LISTEN:0,proxy-protocol-send=v1', '-'], message: 'parseopts_table(): option "proxy-protocol-send" not supported with this address type' },
  // issue 17: values that used to reach Node's internals ("internal error: …") are refused where they are read
  'brackets nested 3,000 deep': { args: () => ['-', `EXEC:cat${NESTED}`], message: `address "EXEC:cat${NESTED}" too long: nested more than 256 deep` },
  'braces nested 3,000 deep, never closed': { args: () => ['-', `SYSTEM:${'{'.repeat(3000)}`], message: `address "SYSTEM:${'{'.repeat(3000)}" too long: nested more than 256 deep` },
  'int option beyond 2^32': { args: () => ['-', 'TCP:127.0.0.1:1,tos=4294967296'], message: 'parseopts(): option "tos=4294967296": value exceeds limit (4294967296 vs. 2147483647)' },
  'ttl beyond 2^32': { args: () => ['-', 'TCP:127.0.0.1:1,ttl=4294967296'], message: 'parseopts(): option "ttl=4294967296": value exceeds limit (4294967296 vs. 2147483647)' },
  'ttl the kernel refuses': { args: (p) => ['-', `UDP4:127.0.0.1:${p},ttl=256`], message: /^setsockopt\(\d+, 0, 2, \{256\}, 4\): Invalid argument$/ },
  'int option below INT_MIN': { args: () => ['-', 'TCP:127.0.0.1:1,ttl=-2147483649'], message: 'parseopts(): option "ttl=-2147483649": value below limit (-2147483649 vs. -2147483648)' },
  'buffer size of 20 digits': { args: () => ['-', 'TCP:127.0.0.1:1,rcvbuf=99999999999999999999'], message: 'parseopts(): option "rcvbuf=99999999999999999999": value exceeds limit (99999999999999999999 vs. 2147483647)' },
  'byte option beyond 255': { args: () => ['-', 'PTY,vmin=256'], message: 'parseopts(): option "vmin=256": byte value exceeds limit (256 vs. 255)' },
  'sourceport beyond 65535': { args: () => ['-', 'TCP:127.0.0.1:1,sourceport=99999'], message: 'parseopts(): option "sourceport=99999": value exceeds limit (99999 vs. 65535)' },
  'hex beyond 2^32 in a two-number option': { args: () => ['-', 'PTY,tiocswinsz=24:0x100000000'], message: 'parseopts(): option "tiocswinsz=24:0x100000000": value exceeds limit (4294967296 vs. 2147483647)' },
  'timeout longer than a Node timer keeps': { args: () => ['-T', '3000000', '-', '-'], message: 'parseopts(): option "-T": value exceeds limit (3000000 vs. 2147483.647)' },
  'connect-timeout of 1e400': { args: () => ['-', 'TCP:127.0.0.1:1,connect-timeout=1e400'], message: 'parseopts(): option "connect-timeout=1e400": value exceeds limit (1e400 vs. 2147483.647)' },
  'socket domain of 2^64': { args: () => ['-', 'SOCKET-CONNECT:18446744073709551616:0:x'], message: 'domain "18446744073709551616": value exceeds limit (18446744073709551616 vs. 2147483647)' },
  'log file name of 300 characters': { args: () => ['-lf', LONG_NAME, '-', '-'], message: `cannot open log file "${LONG_NAME}": File name too long` },
  'program name of 300 characters': { args: () => ['-', `EXEC:${LONG_NAME}`], message: `execvp("${LONG_NAME}", ...): File name too long` },
  'FD past INT_MAX': { args: () => ['-', 'FD:18446744073709551616'], message: 'fstat(18446744073709551616): Bad file descriptor' },
  'offset past what Node takes': { args: () => ['-u', 'STDIN', 'OPEN:existing,ftruncate=9223372036854775807'], message: 'parseopts(): option "ftruncate=9223372036854775807": value exceeds limit (9223372036854775807 vs. 9007199254740991)' },
  '-b past 2^31-1 keeps its own wording (a size is no time)': { args: () => ['-b', '99999999999', '-', '-'], message: 'buffer size option (-b) to big - 99999999999 (max is 2147483647)' },
  'so-mark of 0xffffffff reaches setsockopt() as C passes it, then the connect fails': { args: (p) => ['-', `TCP4:127.0.0.1:${p},so-mark=0xffffffff`], message: (p) => `connect(AF=2 127.0.0.1:${p}): Connection refused` },
  'UDP to port 0': { args: () => ['-', 'UDP4:127.0.0.1:0'], message: 'UDP4: invalid destination port "0" (1-65535)' },
  'ip-recvopts where nothing reads ancillary data': {
    args: () => ['-u', '-', 'UDP-SENDTO:127.0.0.1:9,ip-recvopts'],
    message: 'option "ip-recvopts": only the datagram receiving addresses (UDP-RECV, UDP-RECVFROM, IP-RECV, IP-RECVFROM and their 4/6 forms) read the ancillary data it asks for',
  },
  'ip-recverr on a UDP-LISTEN': {
    args: () => ['-u', 'UDP-LISTEN:0,ip-recverr', '-'],
    message: 'option "ip-recverr": only the datagram receiving addresses (UDP-RECV, UDP-RECVFROM, IP-RECV, IP-RECVFROM and their 4/6 forms) read the ancillary data it asks for',
  },
  'mtudiscover that is not a number': { args: () => ['-', 'UDP:127.0.0.1:9,mtudiscover=x'], message: 'parseopts(): missing numerical value of option "mtudiscover=x"' },
  'a forking listener as half of a dual address': { args: () => ['UDP4-RECVFROM:0,fork!!-', '-'], message: 'UDP4-RECVFROM:0,fork: a forking listening address cannot be one half of a dual address' },
  'socktype with pipes on EXEC': { args: () => ['-', 'EXEC:cat,socktype=2,pipes'], message: 'option "so-type" cannot be combined with "pipes": it chooses the type of the socketpair to the program' },
  'socktype with pty on SYSTEM': { args: () => ['-', 'SYSTEM:cat,socktype=2,pty'], message: 'option "so-type" cannot be combined with "pty": the program\'s stdin and stdout are the pty' },
  'SCTP without a port': { args: () => ['-', 'SCTP-CONNECT:127.0.0.1:'], message: '_xiogetaddrinfo(): empty port and service' },
  'DCCP-LISTEN port out of range': { args: () => ['DCCP-LISTEN:70000', '-'], message: 'port 70000 is out of range: a port is a number from 0 to 65535' },
  'VSOCK cid that is not a number': { args: () => ['-', 'VSOCK-CONNECT:host:1'], message: 'sockaddr_vm - garbage in cid: "host"' },
  'VSOCK-LISTEN port with trailing garbage': { args: () => ['VSOCK-LISTEN:5x', '-'], message: 'sockaddr_vm - garbage in port: "x"' },
  'bind on VSOCK-CONNECT': { args: () => ['-', 'VSOCK-CONNECT:1:1,bind=1'], message: 'option "bind" does not apply to VSOCK-CONNECT' },
  'bad option in address 2 while address 1 is CREATE': { args: () => ['-U', 'CREATE:newfile2', 'TCP:127.0.0.1:1,nosuchopt'], message: 'parseopts_table(): unknown option "nosuchopt"' },
};

describe('a bad command line gives one log line and status 1', () => {
  it.concurrent.each(Object.entries(BAD_LINES))('%s', async (_name, bad) => {
    const { dir, cleanup } = tempDir();
    try {
      writeFileSync(join(dir, 'existing'), CONTENT);
      mkdirSync(join(dir, 'dir'));
      const port = await freePort();
      const r = await tsocat(bad.args(port), { cwd: dir, input: '', timeoutMs: 8000 });
      expect(r.status).toBe(1);
      expect(r.stdout.length).toBe(0);
      expect(r.stderr).not.toMatch(/^\s+at |Error:|node:|\.js:\d+/m);
      const line = r.stderr.match(ONE_LOG_LINE);
      expect(line, r.stderr).not.toBeNull();
      const expected = typeof bad.message === 'function' ? bad.message(port) : bad.message;
      if (expected instanceof RegExp) expect(line?.[1]).toMatch(expected);
      else expect(line?.[1]).toBe(expected);
      // nothing written or created on the way out
      expect(readFileSync(join(dir, 'existing'), 'utf8')).toBe(CONTENT);
      expect(readdirSync(dir).sort()).toEqual(['dir', 'existing']);
      expect(existsSync('/nonexistent')).toBe(false);
    } finally {
      cleanup();
    }
  });
});
