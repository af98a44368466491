import { appHosts } from '../router/caddy-config.js';
import type { Route } from '../router/router.js';
import type { PipelineDeps } from './deps.js';
import { withAppLock } from './lock.js';

/** The lock that serializes router updates; not an app name, so it can never clash with one. */
const ROUTER_LOCK = '~router';

type RouteDeps = Pick<PipelineDeps, 'store' | 'router' | 'config'>;

export function currentRoutes(deps: RouteDeps): Route[] {
  return deps.store.routes.all().map((r) => ({ app: r.app, hosts: appHosts(r.app, deps.config.domain, r.hosts), upstreams: r.upstreams }));
}

/** Loads the whole recorded routing into the router. */
export async function applyRoutes(deps: RouteDeps): Promise<void> {
  await withAppLock(deps.store, ROUTER_LOCK, { holder: 'skiff', purpose: 'route update' }, () => {}, new AbortController().signal, () =>
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
