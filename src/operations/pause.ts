import { ConflictError, InvalidError } from '../errors.js';
import { getApp } from '../access/policy.js';
import { PAUSE_MAX_SECONDS, endDueHolds, holdRequests, letRequestsGo } from '../pipeline/hold.js';
import type { App } from '../domain/entities.js';
import { withOpLock, type Op, type Services } from './operation.js';

export const PAUSE_DEFAULT_SECONDS = 30;
export { PAUSE_MAX_SECONDS };

/**
 * ps:pause: from now on the app's requests are held at the router (they
 * wait, they do not fail) until ps:resume or `maxSeconds`, whichever comes
 * first; then they go on to wherever the app's traffic goes by then. Deploys
 * meanwhile keep the pause. Waits for a push of the app to finish first.
 */
export async function pauseApp(op: Op, appName: string, maxSeconds: number): Promise<{ app: App; until: Date }> {
  const app = getApp(op.services, op.caller, appName);
  if (!Number.isInteger(maxSeconds) || maxSeconds < 1 || maxSeconds > PAUSE_MAX_SECONDS) {
    throw new InvalidError(`--max must be whole seconds from 1 to ${PAUSE_MAX_SECONDS}`);
  }
  if (app.currentRelease === null) throw new InvalidError(`${app.name} has no release yet, so nothing to pause; push to it first`);
  return withOpLock(op, app.name, 'pause', async () => {
    const paused = pausedUntil(op.services, app.name);
    if (paused !== null) throw new InvalidError(`${app.name} is paused already, until ${paused}; ps:resume ${app.name} lets its requests go`);
    // Each pause takes one of the router's holds: the app owner's apps may have so many at once.
    const limit = op.services.config.quotas.holdsPerUser;
    if (!op.caller.admin && limit > 0) {
      const owners = op.services.store.apps.list().filter((a) => a.createdBy === app.createdBy);
      const count = owners.filter((a) => pausedUntil(op.services, a.name) !== null).length;
      if (count >= limit) throw new ConflictError(`${app.createdBy} has ${count} paused apps, the most SKIFF_MAX_HOLDS_PER_USER allows; ps:resume one first`);
    }
    const until = new Date(Date.now() + maxSeconds * 1000);
    op.progress.step(`Pausing ${app.name}: its requests wait at the router for at most ${maxSeconds}s`);
    await holdRequests(op.services, app.name, 'pause', until);
    return { app, until };
  });
}

/** ps:resume: the held requests go on, to the app's instances as they are now. */
export async function resumeApp(op: Op, appName: string): Promise<App> {
  const app = getApp(op.services, op.caller, appName);
  return withOpLock(op, app.name, 'resume', async () => {
    if (pausedUntil(op.services, app.name) === null) throw new InvalidError(`${app.name} is not paused; ps:pause ${app.name} holds its requests`);
    await letRequestsGo(op.services, app.name);
    return app;
  });
}

/** The server's watch: pauses past their end are resumed, with an event each. */
export async function resumeDuePauses(services: Services, now = new Date()): Promise<string[]> {
  const resumed = (await endDueHolds(services, now, false)).filter((h) => h.reason === 'pause').map((h) => h.app);
  for (const app of resumed) {
    services.store.events.record({
      app,
      user: 'skiff',
      source: 'server',
      action: 'ps:resume',
      detail: { reason: 'the pause reached its --max' },
      outcome: 'ok',
    });
  }
  return resumed;
}

/** When the app's pause ends (ISO time), or null when it is not paused. */
export function pausedUntil(services: Pick<Services, 'store'>, app: string): string | null {
  const held = services.store.routes.held(app);
  return held?.reason === 'pause' && !held.releasing ? held.until : null;
}
