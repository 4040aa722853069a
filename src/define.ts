/**
 * The address plugin contract. A plugin is data (names, parameters, option
 * groups, help) plus one open(); see addresses/*.ts.
 */
import type { AddressPlugin } from './engine/context.js';

// the types live with the context a plugin is handed (a plugin's open() gets the registry of plugins)
export type { AddressPlugin, AddressRequest } from './engine/context.js';

export function defineAddress(plugin: AddressPlugin): AddressPlugin {
  return plugin;
}

/** `":<host>:<port>"` as socat's help prints it. */
/** `:<a>:<b>` for help; parameters that may be left out are in brackets, as socat shows `PIPE[:<filename>]`. */
export function syntaxOf(plugin: AddressPlugin): string {
  if (plugin.syntax !== undefined) return plugin.syntax;
  const required = plugin.minParams ?? plugin.params.length;
  const head = plugin.params.slice(0, required).map((p) => `:<${p}>`).join('');
  const optional = plugin.params.slice(required).map((p) => `:<${p}>`).join('');
  return optional ? `${head}[${optional}]` : head;
}
