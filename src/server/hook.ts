import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { userMessage } from '../errors.js';
import { compose, fileLogger } from './compose.js';

/** Run by git inside a push: the deploy. Its output is the pusher's `remote:` lines. */
export async function runPreReceiveHook(config: Config): Promise<number> {
  const [{ receivePush }, { PushRejected }, { Progress }] = await Promise.all([
    import('../operations/receive.js'),
    import('../pipeline/push.js'),
    import('../output/progress.js'),
  ]);
  const services = compose(config, fileLogger(config));
  const controller = new AbortController();
  const abort = (): void => {
    controller.abort();
    // Cleanup gets a bounded time; then the process goes regardless.
    setTimeout(() => process.exit(1), 60_000).unref();
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, abort);
  const progress = new Progress([process.stdout], abort);
  const refLines = fs.readFileSync(0, 'utf8');
  const repoDir = process.cwd();
  if (process.env.SKIFF_APP_CREATED === '1') progress.step(`Created app ${path.basename(repoDir, '.git')}`);
  try {
    const source = process.env.SKIFF_SOURCE || 'host';
    // The hook's own start (node, its modules, the services) is a step of the push too.
    const startedMs = performance.now();
    await receivePush(services, { refLines, repoDir, pusher: process.env.SKIFF_USER || 'admin (host)', source, startedMs }, progress, controller.signal);
    return 0;
  } catch (err) {
    if (err instanceof PushRejected) return 1;
    if (!(err instanceof Error && err.name === 'SkiffError')) services.log.error({ err }, 'pre-receive failed');
    progress.warn(`Push rejected: ${userMessage(err)}`);
    return 1;
  } finally {
    services.store.close();
  }
}
