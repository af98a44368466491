import type { Hold } from '../domain/entities.js';
import type { PipelineDeps } from './deps.js';
import { withAppLock } from './lock.js';
import { ROUTER_LOCK, applyRoutes } from './route.js';

/*
 * Holds: the router keeps an app's requests waiting (a single-writer
 * handover, a pause) until they are let go, to wherever the app's traffic
 * goes by then. The router's side is a slot of one holds process (see
 * router/caddy-holds.ts); the record is the routes table's held column,
 * which says which slots are taken. Each hold ends at its `until`, whoever
 * started it: the server's watch lets its requests go then.
 */

type HoldDeps = Pick<PipelineDeps, 'store' | 'router' | 'config' | 'clock'>;

/** The longest pause. */
export const PAUSE_MAX_SECONDS = 3600;
/** Holds pauses leave free, so that deploys' handovers still find one. */
export const HOLDS_KEPT_FOR_HANDOVERS = 8;

/**
 * The bound of the router's holds, past which a request waiting in one
 * fails: the longest hold, and a minute for the server's watch to end it
 * (a hold outlives its end only while the server is down).
 */
export function longestHoldSeconds(config: Pick<HoldDeps['config'], 'holdSeconds'>): number {
  return Math.max(PAUSE_MAX_SECONDS, 2 * config.holdSeconds) + 60;
}

/**
 * Holds the app's requests (ps:pause, a single-writer handover): from now on
 * they wait in a hold, until `until`, while the routes of this and other
 * apps may change, until letRequestsGo lets them go. Returns false when a
 * hold was on already (a pause): that one keeps them, and whoever started
 * it releases them. Refused (ConflictError) when the router has no hold free.
 */
export async function holdRequests(deps: HoldDeps, app: string, reason: Hold['reason'], until: Date): Promise<boolean> {
  const before = deps.store.routes.held(app);
  if (before && !before.releasing) return false;
  // One at a time, so that two never take the same slot.
  await withAppLock(
    deps.store,
    ROUTER_LOCK,
    { holder: 'skiff', purpose: 'hold', pollMs: 10 },
    () => {},
    new AbortController().signal,
    async () => {
      const taken = new Set(deps.store.routes.all().flatMap((r) => (r.held ? [r.held.id] : [])));
      const hold = await deps.router.startHold(app, { reason, taken, keepFree: reason === 'pause' ? HOLDS_KEPT_FOR_HANDOVERS : 0 });
      deps.store.routes.hold(app, { ...hold, reason, until: until.toISOString(), releasing: false });
    },
  );
  try {
    await applyRoutes(deps);
  } catch (err) {
    deps.store.routes.hold(app, before);
    throw err;
  }
  return true;
}

/** How long a release waits for the hold's requests to be answered before it returns (the server's watch frees the hold later). */
const RELEASE_END_MS = 3000;

/**
 * Lets the app's held requests go where its traffic goes now: the router
 * answers on the hold's release socket, the requests reach the app through
 * it, and the hold is free again once they have been answered.
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
  for (let waited = 0; waited < RELEASE_END_MS; waited += 50) {
    await deps.clock.sleep(50);
    if ((await deps.router.holdsDrained([held])).length) return applyRoutes(deps);
  }
}

/**
 * Releases the holds whose time has come (pauses past their end, handovers
 * past their bound, and, at the server's start, the handovers of pushes and
 * the holds of restores that died with it) and frees the released ones that have no request left. A
 * hold whose process is gone is forgotten: its requests went with it.
 * Returns the holds it released, by app.
 */
export async function endDueHolds(deps: HoldDeps, now: Date, starting: boolean): Promise<{ app: string; reason: Hold['reason'] }[]> {
  const due: { app: string; reason: Hold['reason'] }[] = [];
  let changed = false;
  const releasing: Hold[] = [];
  for (const r of deps.store.routes.all()) {
    const held = r.held;
    if (!held) continue;
    if (held.releasing) releasing.push(held);
    else if (!deps.router.holdAlive(held)) {
      deps.store.routes.hold(r.app, null);
      changed = true;
    } else if ((held.until !== null && new Date(held.until) <= now) || (starting && held.reason !== 'pause')) {
      due.push({ app: r.app, reason: held.reason });
    }
  }
  // Not knowing (no metrics) frees none now: a later round does, as applyRoutes would.
  if (releasing.length && (await deps.router.holdsDrained(releasing).catch(() => [])).length) changed = true;
  if (changed) await applyRoutes(deps);
  await Promise.all(due.map((d) => letRequestsGo(deps, d.app)));
  return due;
}
