import type { Services } from '../../src/commands/command.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { compose } from '../../src/server/compose.js';
import { tempDir } from './skiff.js';

/** The real services on a fresh temporary SKIFF_HOME, for in-process tests: the server's own composition. */
export function realServices(home: string = tempDir('svc')): Services {
  return compose(loadConfig({ SKIFF_HOME: home, SKIFF_BIND: '127.0.0.1', SKIFF_STOP_TIMEOUT: '1' }), silentLogger);
}
