import { defaultHost } from '../domain/host-name.js';
import { appHosts } from '../router/caddy-config.js';
import type { Route } from '../router/router.js';
import type { PipelineDeps } from './deps.js';
import { withAppLock } from './lock.js';

/** The lock that serializes router updates; not an app name, so it can never clash with one. */
const ROUTER_LOCK = '~router';

type RouteDeps = Pick<PipelineDeps, 'store' | 'router' | 'config'>;

/**
 * The whole routing, where each host name leads to one app: every app's
 * default host is its own, and a custom domain that is another app's default
 * host (recorded before that app existed, or before SKIFF_DOMAIN changed) is
 * left out rather than shared.
 */
export function currentRoutes(deps: RouteDeps): Route[] {
  const all = deps.store.routes.all();
  const defaults = new Set(all.map((r) => defaultHost(r.app, deps.config.domain)));
  return all.map((r) => ({
    app: r.app,
    hosts: appHosts(r.app, deps.config.domain, r.hosts.filter((h) => !defaults.has(h))),
    upstreams: r.held ? r.held.upstreams : r.upstreams,
    ...(r.held ? { holdSeconds: r.held.seconds } : {}),
    ...(r.maintenance ? { maintenance: { message: r.maintenance.message ?? `${r.app} is down for maintenance; please try again shortly.`, allowPaths: r.maintenance.allowPaths } } : {}),
  }));
}

/** Loads the whole recorded routing into the router. */
export async function applyRoutes(deps: RouteDeps): Promise<void> {
  await withAppLock(deps.store, ROUTER_LOCK, { holder: 'skiff', purpose: 'route update', pollMs: 10 }, () => {}, new AbortController().signal, () =>
    deps.router.apply(currentRoutes(deps)),
  );
}

/**
 * Holds the app's requests (a single-writer handover): from now on they wait
 * for these upstreams, which are not there yet, instead of going to the
 * instances about to stop. Recorded, so that another app's route update
 * meanwhile keeps the hold; the next switchTraffic of the app ends it.
 */
export async function holdTraffic(deps: RouteDeps, app: string, upstreams: readonly string[], seconds: number): Promise<void> {
  deps.store.routes.hold(app, { upstreams: [...upstreams], seconds });
  try {
    await applyRoutes(deps);
  } catch (err) {
    deps.store.routes.hold(app, null);
    throw err;
  }
}

/**
 * The switch: records where the app's traffic goes, then applies it. If the
 * router refuses, the record goes back to what it was and nothing changed.
 */
export async function switchTraffic(deps: RouteDeps, app: string, upstreams: readonly string[]): Promise<void> {
  const before = deps.store.routes.get(app);
  const held = deps.store.routes.held(app);
  deps.store.transaction(() => {
    deps.store.routes.set(app, upstreams);
    deps.store.routes.hold(app, null);
  });
  try {
    await applyRoutes(deps);
  } catch (err) {
    deps.store.transaction(() => {
      deps.store.routes.set(app, before ?? []);
      deps.store.routes.hold(app, held);
    });
    throw err;
  }
}

/** Where an app answers, for the user. */
export function appUrl(deps: Pick<PipelineDeps, 'config'>, app: string): string {
  const port = deps.config.routerPort === 80 ? '' : `:${deps.config.routerPort}`;
  return `http://${app}.${deps.config.domain}${port}/`;
}
