import type { Op } from '../operations/operation.js';
import { Progress, STEP } from '../output/progress.js';
import type { CommandContext, CommandIO } from './command.js';
import type { OneOffIO } from '../runtime/runtime.js';

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

/**
 * A command's io as an attached process takes it (run, services:connect):
 * a terminal's output passed as it is, and on the host the terminal in raw
 * mode meanwhile, so keys reach the process as typed.
 */
export async function withAttachedIO<T>(io: CommandIO, fn: (attached: OneOffIO) => Promise<T>): Promise<T> {
  const stdin = io.stdin as NodeJS.ReadStream;
  const hostTty = stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  if (hostTty) stdin.setRawMode(true);
  try {
    return await fn({
      stdin: io.stdin,
      stdout: io.tty ? (io.rawStdout ?? io.stdout) : io.stdout,
      stderr: io.stderr,
      tty: io.tty,
      onResize: io.onResize,
      signal: io.signal,
    });
  } finally {
    if (hostTty) stdin.setRawMode(false);
  }
}
