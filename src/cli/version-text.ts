/**
 * -V: version and socat's feature list, from the address families' features
 * and the option catalog. Apart from the help tables, so -V loads neither
 * them nor (in the bundled command, which lists option names at build time)
 * any option file.
 */
import { addressFeatures } from '../../addresses/index.js';
import { optionExists } from '../../options/index.js';
import { SOCAT_RELEASE, VERSION } from '../version.js';

/** socat's feature names in its -V order; ours are defined only when a plugin provides them. */
const FEATURE_ORDER = [
  'HELP', 'STATS', 'STDIO', 'FDNUM', 'FILE', 'CREAT', 'GOPEN', 'TERMIOS', 'PIPE', 'STALL', 'TEXT', 'SOCKETPAIR',
  'UNIX', 'ABSTRACT_UNIXSOCKET', 'IP4', 'IP6', 'RAWIP', 'GENERICSOCKET', 'INTERFACE', 'TCP', 'UDP', 'SCTP', 'DCCP',
  'UDPLITE', 'LISTEN', 'POSIXMQ', 'SOCKS4', 'SOCKS4A', 'SOCKS5', 'VSOCK', 'NAMESPACES', 'PROXY', 'SYSTEM', 'SHELL',
  'EXEC', 'READLINE', 'TUN', 'PTY', 'OPENSSL', 'FIPS', 'LIBWRAP', 'SYCLS', 'FILAN', 'RETRY', 'DEVTESTS', 'MSGLEVEL',
];

/** Features the engine itself provides, whatever plugins are present. */
const ENGINE_FEATURES = ['HELP', 'STATS', 'RETRY'];

export async function versionText(): Promise<string> {
  const provided = new Set([...ENGINE_FEATURES, ...(await addressFeatures())]);
  let out = `tsocat by the tsocat developers, after socat by Gerhard Rieger and contributors\n`;
  // the last version number on this line is what socat's test.sh takes for the version it tests
  out += `tsocat version ${VERSION} on Node.js ${process.version}, following socat ${SOCAT_RELEASE}\n`;
  out += `   running on ${process.platform} ${process.arch}\n`;
  out += 'features:\n';
  for (const f of FEATURE_ORDER) out += provided.has(f) ? `  #define WITH_${f} 1\n` : `  #undef WITH_${f}\n`;
  out += (await optionExists('pf')) ? "  #define WITH_DEFAULT_IPV '4'\n" : '';
  return out;
}
