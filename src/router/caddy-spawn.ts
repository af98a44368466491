import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Starts a detached Caddy that outlives this process, its output appended
 * to `logFile`, its own state (certificates, autosave) under `home`. An
 * error means there is no caddy to run (ENOENT) or it may not run.
 */
export async function spawnCaddy(args: readonly string[], home: string, logFile: string): Promise<{ child: ChildProcess; error?: Error }> {
  const out = fs.openSync(logFile, 'a', 0o600);
  const child = spawn('caddy', args, {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, XDG_DATA_HOME: path.join(home, 'data'), XDG_CONFIG_HOME: path.join(home, 'config'), HOME: home },
  });
  fs.closeSync(out);
  child.unref();
  const error = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  return error ? { child, error } : { child };
}
