import type { Config } from '../config.js';
import type { Caller } from '../operations/operation.js';
import { compose, fileLogger } from './compose.js';

/** A command on the host, as the admin: the same dispatcher as over SSH. */
export async function runHostCommand(config: Config, words: string[]): Promise<number> {
  const { dispatch } = await import('../commands/dispatch.js');
  const services = compose(config, fileLogger(config));
  const caller: Caller = { user: 'admin (host)', admin: true, via: 'host' };
  const controller = new AbortController();
  process.on('SIGINT', () => controller.abort());
  try {
    return await dispatch(words, {
      caller,
      services,
      io: {
        stdin: process.stdin,
        stdout: process.stdout,
        stderr: process.stderr,
        signal: controller.signal,
        tty: process.stdin.isTTY && process.stdout.isTTY ? { rows: process.stdout.rows, cols: process.stdout.columns } : undefined,
        onResize: (listener) => process.stdout.on('resize', () => listener({ rows: process.stdout.rows, cols: process.stdout.columns })),
      },
    });
  } finally {
    services.store.close();
    // A command that read stdin (keys:add, run) must not keep the process waiting on it.
    process.stdin.destroy();
  }
}
