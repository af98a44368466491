import type { Op } from '../operations/operation.js';
import { Progress, STEP } from '../output/progress.js';
import type { CommandContext } from './command.js';

/** A command's operation call: its steps go to the caller's stdout, waiting for the app's lock is told on stderr. */
export function operation(ctx: Pick<CommandContext, 'services' | 'caller' | 'io'>): Op {
  const progress = new Progress([ctx.io.stdout]);
  return {
    services: ctx.services,
    caller: ctx.caller,
    progress,
    signal: ctx.io.signal,
    onWait: (message) => ctx.io.stderr.write(`${STEP}${message}\n`),
  };
}
