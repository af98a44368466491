import type { Logger } from '../log.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Store } from '../store/store.js';
import { isProcessAlive } from './lock.js';

/**
 * At server start, bring what runs back in line with what is recorded:
 * builds whose process died are marked failed, and for every app not being
 * deployed right now, pending releases are failed and instances of any
 * release but the current one are stopped.
 */
export async function reconcile(store: Store, runtime: Runtime, log: Logger): Promise<void> {
  for (const b of store.builds.failAbandoned(isProcessAlive)) {
    log.warn({ app: b.app, build: b.id }, 'build interrupted; marked failed');
  }
  for (const app of store.apps.list()) {
    const busy = store.locks.tryAcquire({ app: app.name, pid: process.pid, holder: 'skiff', purpose: 'start-up check' }, isProcessAlive);
    if (busy) continue;
    try {
      store.releases.failAbandoned(app.name);
      const retired = await runtime.retire(app.name, app.currentRelease);
      if (retired.length) log.info({ app: app.name, retired: retired.map((i) => i.name) }, 'stopped instances of old releases');
    } catch (err) {
      log.error({ err, app: app.name }, 'reconcile failed');
    } finally {
      store.locks.release(app.name, process.pid);
    }
  }
}
