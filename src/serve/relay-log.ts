/**
 * A relay's own logger inside `tsocat serve`: the process's log (file, format)
 * at the relay's `-d` level, each line starting with `[name]` so that twenty
 * relays in one log can be told apart (a JSON line has a `relay` field).
 */
import type { Level } from '../errors.js';
import { LEVEL_NUMBER, type Logger } from '../log/logger.js';

export function relayLogger(base: Logger, name: string, threshold: number): Logger {
  // a JSON line names its relay in a field of its own
  const prefix = base.config.format === 'json' ? '' : `[${name}] `;
  const config = { ...base.config, threshold };
  const logger: Logger = {
    config,
    enabled: (level: Level) => LEVEL_NUMBER[level] >= config.threshold,
    log(level, message) {
      if (LEVEL_NUMBER[level] >= config.threshold) base.always(level, prefix + message, { relay: name });
    },
    always: (level, message, fields) => base.always(level, prefix + message, { relay: name, ...fields }),
    startRunning(what) {
      if (what) logger.log('I', what);
    },
  };
  return logger;
}
