import { setTimeout as sleep } from 'node:timers/promises';
import { certificateMisfit } from '../domain/certificate.js';
import { defaultHost } from '../domain/host-name.js';
import { appHosts } from '../router/caddy-config.js';
import type { Route } from '../router/router.js';
import type { Hold } from '../store/store.js';
import type { PipelineDeps } from './deps.js';
import { withAppLock } from './lock.js';

/** The lock that serializes router updates; not an app name, so it can never clash with one. */
const ROUTER_LOCK = '~router';

type RouteDeps = Pick<PipelineDeps, 'store' | 'router' | 'config'>;

/**
 * The host names each app answers at, as the routing has them (the whole
 * routing's rows, when the caller read them already).
 */
export function hostsByApp(deps: Pick<RouteDeps, 'store' | 'config'>, all = deps.store.routes.all()): Map<string, string[]> {
  const defaults = new Set(all.map((r) => defaultHost(r.app, deps.config.domain)));
  return new Map(all.map((r) => [r.app, appHosts(r.app, deps.config.domain, r.hosts.filter((h) => !defaults.has(h)))]));
}

/**
 * The whole routing, where each host name leads to one app: every app's
 * default host is its own, and a custom domain that is another app's default
 * host (recorded before that app existed, or before SKIFF_DOMAIN changed) is
 * left out rather than shared.
 */
export function currentRoutes(deps: RouteDeps): Route[] {
  const all = deps.store.routes.all();
  const hostsOf = hostsByApp(deps, all);
  // A certificate is loaded only while its names are its app's (a domain may have gone since certs:add).
  const certificates = (deps.config.tls ? deps.store.certificates.all() : []).filter(
    (c) => certificateMisfit(c.names, c.app, hostsOf.get(c.app) ?? [], [...hostsOf].flatMap(([app, hosts]) => (app === c.app ? [] : hosts))) === null,
  );
  return all.map((r) => ({
    app: r.app,
    hosts: hostsOf.get(r.app) ?? [],
    upstreams: r.upstreams,
    ...(r.held && !r.held.releasing ? { heldBy: r.held } : {}),
    ...(r.held?.releasing ? { releasing: [r.held] } : {}),
    ...(certificates.some((c) => c.app === r.app) ? { certificates: certificates.filter((c) => c.app === r.app).map(({ chain, key }) => ({ chain, key })) } : {}),
    ...(r.maintenance ? { maintenance: { message: r.maintenance.message ?? `${r.app} is down for maintenance; please try again shortly.`, allowPaths: r.maintenance.allowPaths } } : {}),
  }));
}

/** Loads the whole recorded routing into the router, forgetting the released holds whose process has ended. */
export async function applyRoutes(deps: RouteDeps): Promise<void> {
  await withAppLock(deps.store, ROUTER_LOCK, { holder: 'skiff', purpose: 'route update', pollMs: 10 }, () => {}, new AbortController().signal, () => {
    for (const r of deps.store.routes.all()) {
      if (r.held?.releasing && !deps.router.holdAlive(r.held)) deps.store.routes.hold(r.app, null);
    }
    return deps.router.apply(currentRoutes(deps));
  });
}

/**
 * Holds the app's requests (ps:pause, a single-writer handover): from now on
 * they wait in a hold, for up to `seconds`, while the routes of this and
 * other apps may change, until releaseTraffic lets them go. Returns false
 * when a hold was on already (a pause): that one keeps them, and whoever
 * started it releases them.
 */
export async function holdTraffic(deps: RouteDeps, app: string, seconds: number, reason: Hold['reason'], until: Date | null = null): Promise<boolean> {
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
export async function releaseTraffic(deps: RouteDeps, app: string): Promise<void> {
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
export async function releaseDueHolds(deps: RouteDeps, now: Date, starting: boolean): Promise<string[]> {
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
  await Promise.all(due.map((app) => releaseTraffic(deps, app)));
  return due;
}

/**
 * The switch: records where the app's traffic goes, then applies it (a hold
 * keeps the app's requests until it is released, and they go there then).
 * If the router refuses, the record goes back to what it was and nothing
 * changed.
 */
export async function switchTraffic(deps: RouteDeps, app: string, upstreams: readonly string[]): Promise<void> {
  const before = deps.store.routes.get(app);
  deps.store.routes.set(app, upstreams);
  try {
    await applyRoutes(deps);
  } catch (err) {
    deps.store.routes.set(app, before ?? []);
    throw err;
  }
}

/** Where an app answers, for the user: over HTTPS when the router has it. */
export function appUrl(deps: Pick<PipelineDeps, 'config'>, app: string): string {
  const { tls, routerPort, domain } = deps.config;
  if (tls) return `https://${app}.${domain}${tls.port === 443 ? '' : `:${tls.port}`}/`;
  return `http://${app}.${domain}${routerPort === 80 ? '' : `:${routerPort}`}/`;
}
