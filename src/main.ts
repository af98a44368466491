import fs from 'node:fs';
import { loadConfig, type Config } from './config.js';
import { userMessage } from './errors.js';

/*
 * `skiff`: an argv switch. Each entry loads only what it uses (src/server/):
 * a push starts a fresh process for its hook, and every module it loads is
 * time the pusher waits (the hook hands the push to the server when one runs).
 */

async function main(argv: string[]): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(` !     ${(err as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  // State holds keys and build logs: only its owner may read it.
  fs.mkdirSync(config.home, { recursive: true, mode: 0o700 });
  if (argv[0] === 'server') {
    if (argv.length > 1) {
      process.stderr.write(' !     usage: skiff server (settings come from the environment; skiff --help lists them)\n');
      process.exitCode = 1;
      return;
    }
    const { runServer } = await import('./server/serve.js');
    return runServer(config);
  }
  if (argv[0] === 'hook' && argv[1] === 'pre-receive') {
    const refLines = fs.readFileSync(0, 'utf8');
    const { runHookClient } = await import('./server/hook-client.js');
    const status = await runHookClient(config.home, refLines);
    if (status !== null) {
      process.exitCode = status;
      return;
    }
    const { runPreReceiveHook } = await import('./server/hook.js');
    process.exitCode = await runPreReceiveHook(config, refLines, performance.now());
    return;
  }
  const { runHostCommand } = await import('./server/cli.js');
  process.exitCode = await runHostCommand(config, argv);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(` !     ${userMessage(err)}\n`);
  if (!(err instanceof Error && err.name === 'SkiffError')) console.error(err);
  process.exitCode = 1;
  process.exit(1);
});
