import { BuildCgroup } from '../docker/build-limits.js';
import type { PipelineDeps } from '../pipeline/deps.js';
import { converge, stopAll } from '../pipeline/converge.js';
import { collectLeftovers } from '../pipeline/prune.js';
import { isProcessAlive } from '../processes.js';
import { Progress } from '../output/progress.js';
import { applyRoutes } from '../pipeline/route.js';
import { endDueHolds } from '../pipeline/hold.js';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Pushes still running when the server starts belong to a server that died:
 * their pusher is gone. They get SIGTERM, abort (the previous release keeps
 * serving), and are given a while to clean up before the start goes on.
 */
/** Only a process that is still a push hook: a pid may have been reused since. */
function isPushHook(pid: number): boolean {
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('hook') && argv.includes('pre-receive');
  } catch {
    return false;
  }
}

async function stopOrphanedPushes(deps: PipelineDeps): Promise<void> {
  const orphans = deps.store.builds.running().filter((b) => b.pid !== process.pid && isPushHook(b.pid));
  for (const b of orphans) {
    deps.log.warn({ app: b.app, build: b.id, pid: b.pid }, 'stopping a push whose server died');
    try {
      process.kill(b.pid, 'SIGTERM');
    } catch {
      // gone meanwhile
    }
  }
  for (let i = 0; i < 300 && orphans.some((b) => isPushHook(b.pid)); i++) await sleep(100);
}

/**
 * At server start, bring what runs back in line with what is recorded:
 * builds whose process died are marked failed; every app not being changed
 * right now gets its current release's formation (missing instances start,
 * others stop); then the router gets the whole routing.
 */
export async function reconcile(deps: PipelineDeps): Promise<void> {
  const { store, log } = deps;
  await stopOrphanedPushes(deps);
  for (const b of store.builds.failAbandoned(isProcessAlive)) {
    log.warn({ app: b.app, build: b.id }, 'build interrupted; marked failed');
  }
  const building = new Set(store.builds.running().map((b) => b.app));
  // Apps this Skiff does not know are another's (one engine may serve several): left alone.
  const leaveAlone = (app: string): boolean => building.has(app) || store.apps.find(app) === undefined;
  for (const name of await deps.stackImages.sweep(leaveAlone)) log.warn({ container: name }, 'removed a stack build or verify container of a dead push');
  // Cgroups of builds that are over: older than a build may take (and not while one of ours runs).
  if (building.size === 0) BuildCgroup.sweep(deps.config.buildTimeoutMs + 60_000);
  await collectLeftovers(deps).catch((err: unknown) => log.warn({ err }, 'could not remove the images destroyed apps left'));
  for (const app of store.apps.list()) {
    const busy = store.locks.tryAcquire({ app: app.name, pid: process.pid, holder: 'skiff', purpose: 'start-up check' }, isProcessAlive);
    if (busy) continue;
    try {
      store.releases.failAbandoned(app.name);
      const current = store.releases.current(app.name);
      if (current) {
        const result = await converge(deps, current, { replace: [], progress: new Progress([]), signal: new AbortController().signal });
        if (result.started.length || result.stopped.length) {
          log.info({ app: app.name, started: result.started.map((i) => i.name), stopped: result.stopped.map((i) => i.name) }, 'converged');
        }
      } else {
        await stopAll(deps, app.name, new Progress([]));
      }
    } catch (err) {
      log.error({ err, app: app.name }, 'reconcile failed');
    } finally {
      store.locks.release(app.name, process.pid);
    }
  }
  await applyRoutes(deps);
  // A push that held an app's requests died: they go to the release the app converged to. A pause lasts.
  for (const { app, reason } of await endDueHolds(deps, new Date(), true)) log.warn({ app, reason }, 'released the requests a hold kept');
}
