import { certificateMisfit } from '../domain/certificate.js';
import { defaultHost } from '../domain/host-name.js';
import { appHosts } from '../router/caddy-config.js';
import type { Route } from '../router/router.js';
import type { PipelineDeps } from './deps.js';
import { withAppLock } from './lock.js';

/** The lock of the router's routing and holds, one change at a time; not an app name, so it can never clash with one. */
export const ROUTER_LOCK = '~router';

type RouteDeps = Pick<PipelineDeps, 'store' | 'router' | 'config'>;

/**
 * The host names each app answers at, as the routing has them (the whole
 * routing's rows, when the caller read them already).
 */
export function hostsByApp(deps: Pick<RouteDeps, 'store' | 'config'>, all = deps.store.routes.all()): Map<string, string[]> {
  const defaults = new Set(all.map((r) => defaultHost(r.app, deps.config.domain)));
  return new Map(
    all.map((r) => [
      r.app,
      appHosts(
        r.app,
        deps.config.domain,
        r.hosts.filter((h) => !defaults.has(h)),
      ),
    ]),
  );
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
    (c) =>
      certificateMisfit(
        c.names,
        c.app,
        hostsOf.get(c.app) ?? [],
        [...hostsOf].flatMap(([app, hosts]) => (app === c.app ? [] : hosts)),
      ) === null,
  );
  return all.map((r) => ({
    app: r.app,
    hosts: hostsOf.get(r.app) ?? [],
    upstreams: r.upstreams,
    ...(r.held && !r.held.releasing ? { heldBy: r.held } : {}),
    ...(r.held?.releasing ? { releasing: [r.held] } : {}),
    ...(certificates.some((c) => c.app === r.app)
      ? { certificates: certificates.filter((c) => c.app === r.app).map(({ chain, key }) => ({ chain, key })) }
      : {}),
    ...(r.maintenance
      ? {
          maintenance: {
            message: r.maintenance.message ?? `${r.app} is down for maintenance; please try again shortly.`,
            allowPaths: r.maintenance.allowPaths,
          },
        }
      : {}),
  }));
}

/** Loads the whole recorded routing into the router, freeing the released holds that have no request left. */
export async function applyRoutes(deps: RouteDeps): Promise<void> {
  const releasing = deps.store.routes.all().flatMap((r) => (r.held?.releasing ? [r.held] : []));
  // Not knowing keeps them: a later update frees them.
  const drained = new Set((releasing.length ? await deps.router.holdsDrained(releasing).catch(() => []) : []).map((h) => h.id));
  await withAppLock(
    deps.store,
    ROUTER_LOCK,
    { holder: 'skiff', purpose: 'route update', pollMs: 10 },
    () => {},
    new AbortController().signal,
    () => {
      for (const r of deps.store.routes.all()) {
        if (r.held?.releasing && drained.has(r.held.id)) deps.store.routes.hold(r.app, null);
      }
      return deps.router.apply(currentRoutes(deps));
    },
  );
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
