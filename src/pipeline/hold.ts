import { setTimeout as sleep } from 'node:timers/promises';
import type { Hold } from '../store/store.js';
import type { PipelineDeps } from './deps.js';
import { applyRoutes } from './route.js';

/*
 * Holds: the router keeps an app's requests waiting (a single-writer
 * handover, a pause) until they are let go, to wherever the app's traffic
 * goes by then. The router's side is a hold process per hold (see
 * router/caddy-holds.ts); the record is the routes table's held column.
 */

type HoldDeps = Pick<PipelineDeps, 'store' | 'router' | 'config'>;

/**
 * Holds the app's requests (ps:pause, a single-writer handover): from now on
 * they wait in a hold, for up to `seconds`, while the routes of this and
 * other apps may change, until letRequestsGo lets them go. Returns false
 * when a hold was on already (a pause): that one keeps them, and whoever
 * started it releases them.
 */
export async function holdRequests(deps: HoldDeps, app: string, seconds: number, reason: Hold['reason'], until: Date | null = null): Promise<boolean> {
  const before = deps.store.routes.held(app);
  if (before && !before.releasing) return false;
  const hold = await deps.router.startHold(app, seconds);
  deps.store.routes.hold(app, { ...hold, reason, until: until?.toISOString() ?? null, releasing: false });
  try {
    await applyRoutes(deps);
  } catch (err) {
    deps.store.routes.hold(app, before);
    deps.router.stopHold(hold);
    throw err;
  }
  return true;
}

/** How long a released hold keeps running: its health check sees the release socket answer within 50 ms, and its requests go. */
const RELEASE_SETTLE_MS = 1000;
/** How long a release waits for the hold to end before the router stops answering on its socket (else a later update does it). */
const RELEASE_END_MS = 2000;

/**
 * Lets the app's held requests go where its traffic goes now: the router
 * answers on the hold's release socket, the requests reach the app through
 * it, and the hold ends once they have been answered.
 */
export async function letRequestsGo(deps: HoldDeps, app: string): Promise<void> {
  const held = deps.store.routes.held(app);
  if (!held || held.releasing) return;
  deps.store.routes.hold(app, { ...held, releasing: true });
  try {
    await applyRoutes(deps);
  } catch (err) {
    deps.store.routes.hold(app, held);
    throw err;
  }
  await sleep(RELEASE_SETTLE_MS);
  deps.router.stopHold(held);
  for (let waited = 0; waited < RELEASE_END_MS && deps.router.holdAlive(held); waited += 50) await sleep(50);
  if (!deps.router.holdAlive(held)) await applyRoutes(deps);
}

/**
 * Releases the holds whose time has come: pauses past their end, and, at
 * the server's start (`starting`), the handovers of pushes that died with
 * it. A hold whose process is gone is forgotten: its requests went with it.
 */
export async function endDueHolds(deps: HoldDeps, now: Date, starting: boolean): Promise<string[]> {
  const due: string[] = [];
  let forgot = false;
  for (const r of deps.store.routes.all()) {
    const held = r.held;
    if (!held || held.releasing) continue;
    if (!deps.router.holdAlive(held)) {
      deps.store.routes.hold(r.app, null);
      forgot = true;
    } else if (held.reason === 'pause' ? held.until !== null && new Date(held.until) <= now : starting) {
      due.push(r.app);
    }
  }
  if (forgot) await applyRoutes(deps);
  await Promise.all(due.map((app) => letRequestsGo(deps, app)));
  return due;
}

