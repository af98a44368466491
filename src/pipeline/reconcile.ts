import type { PipelineDeps } from './deps.js';
import { converge } from './converge.js';
import { isProcessAlive } from './lock.js';
import { Progress } from './progress.js';
import { applyRoutes } from './route.js';

/**
 * At server start, bring what runs back in line with what is recorded:
 * builds whose process died are marked failed; every app not being changed
 * right now gets its current release's formation (missing instances start,
 * others stop); then the router gets the whole routing.
 */
export async function reconcile(deps: PipelineDeps): Promise<void> {
  const { store, log } = deps;
  for (const b of store.builds.failAbandoned(isProcessAlive)) {
    log.warn({ app: b.app, build: b.id }, 'build interrupted; marked failed');
  }
  for (const app of store.apps.list()) {
    const busy = store.locks.tryAcquire({ app: app.name, pid: process.pid, holder: 'skiff', purpose: 'start-up check' }, isProcessAlive);
    if (busy) continue;
    try {
      store.releases.failAbandoned(app.name);
      const current = app.currentRelease === null ? undefined : store.releases.find(app.name, app.currentRelease);
      if (current) {
        const result = await converge(deps, current, { replace: [], progress: new Progress([]), signal: new AbortController().signal });
        if (result.started.length || result.stopped.length) {
          log.info({ app: app.name, started: result.started.map((i) => i.name), stopped: result.stopped.map((i) => i.name) }, 'converged');
        }
      } else {
        await deps.runtime.stop(await deps.runtime.status(app.name));
      }
    } catch (err) {
      log.error({ err, app: app.name }, 'reconcile failed');
    } finally {
      store.locks.release(app.name, process.pid);
    }
  }
  await applyRoutes(deps);
}
