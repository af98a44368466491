import type { Config } from '../config.js';
import type { Services } from '../operations/operation.js';
import type { Progress } from '../output/progress.js';
import { compose, fileLogger } from './compose.js';
import { hookPushHeader, type PushHeader } from './hook-client.js';

/**
 * Run by git inside a push when no server answers on the push socket: the
 * deploy in the hook's own process. Its output is the pusher's `remote:` lines.
 */
export async function runPreReceiveHook(config: Config, refLines: string, startedMs: number): Promise<number> {
  const { Progress } = await import('../output/progress.js');
  const services = compose(config, fileLogger(config));
  const controller = new AbortController();
  const abort = (): void => {
    controller.abort();
    // Cleanup gets a bounded time; then the process goes regardless.
    setTimeout(() => process.exit(1), 60_000).unref();
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, abort);
  const progress = new Progress([process.stdout], abort);
  try {
    // git's quarantine variables are this process's own: no gitEnv to pass on.
    return await runPush(services, hookPushHeader(refLines, {}, startedMs), progress, controller.signal);
  } finally {
    services.store.close();
  }
}

/** A push handed over by a hook (through the server's socket, or in the hook's process): its exit status. */
export async function runPush(services: Services, header: PushHeader, progress: Progress, signal: AbortSignal): Promise<number> {
  const { runHookPush } = await import('../operations/receive.js');
  const request = {
    refLines: header.refLines,
    repoDir: header.repoDir,
    pusher: header.user || 'admin (host)',
    source: header.source || 'host',
    created: header.created,
    // The hook's own start (node, and its modules when it runs the push itself) is a step of the push too.
    startedMs: header.startedMs,
    lockPid: header.lockPid,
    gitEnv: Object.keys(header.gitEnv).length ? header.gitEnv : undefined,
  };
  return runHookPush(services, request, progress, signal);
}
