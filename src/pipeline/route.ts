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
    upstreams: r.upstreams,
  }));
}

/** Loads the whole recorded routing into the router. */
export async function applyRoutes(deps: RouteDeps): Promise<void> {
  await withAppLock(deps.store, ROUTER_LOCK, { holder: 'skiff', purpose: 'route update', pollMs: 10 }, () => {}, new AbortController().signal, () =>
    deps.router.apply(currentRoutes(deps)),
  );
}

/**
 * The switch: records where the app's traffic goes, then applies it. If the
 * router refuses, the record goes back to what it was and nothing changed.
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

/** Where an app answers, for the user. */
export function appUrl(deps: Pick<PipelineDeps, 'config'>, app: string): string {
  const port = deps.config.routerPort === 80 ? '' : `:${deps.config.routerPort}`;
  return `http://${app}.${deps.config.domain}${port}/`;
}
