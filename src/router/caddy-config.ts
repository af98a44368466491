import { defaultHost } from '../domain/host-name.js';
import type { Route } from './router.js';

export const CADDY_SERVER = 'skiff';
/** The server that answers on the release sockets of holds being released. */
export const RELEASE_SERVER = 'skiff-release';
/** With HTTPS on, the plain HTTP server that redirects to it. */
export const REDIRECT_SERVER = 'skiff-redirect';
/** What a hold asks its release socket, to learn that it may let its requests go. */
export const HOLD_CHECK_PATH = '/.skiff/hold-released';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export interface CaddyOptions {
  /** Where Caddy's admin API listens: host:port, or unix//path. */
  admin: string;
  /** The address plain HTTP comes in on, e.g. 0.0.0.0:80: the apps, or with tls the redirects to HTTPS (and ACME's challenges). */
  listen: string;
  tls?: RouterTls;
  /** The git door behind a host name of its own (SKIFF_GIT_HOST): host, and the door's address. */
  git?: { host: string; upstream: string };
}

/** HTTPS for every app host, with certificates from an ACME CA. */
export interface RouterTls {
  /** The address HTTPS comes in on, e.g. 0.0.0.0:443. */
  listen: string;
  email: string;
  /** The CA's directory URL. */
  ca: string;
  /** A PEM file of the root the CA's own HTTPS is signed by (a private CA). */
  caRoot?: string;
  /** The URL Caddy asks whether it may get a certificate for a host now (200: yes); Skiff's server answers it. */
  ask: string;
}

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

/**
 * Caddy's whole JSON config for Skiff's routes: a pure value. Each app's
 * hosts go to its web instances, round robin, retrying another instance for
 * a moment when one refuses (so a switch or a crash does not surface as an
 * error); an app without instances answers 503, an unknown host 404.
 */
export function caddyConfig(routes: readonly Route[], options: CaddyOptions): Record<string, unknown> {
  const routesOf = (side: Side): Record<string, unknown>[] =>
    routes
      .filter((r) => r.hosts.length > 0)
      .map((r) => ({
        match: [{ host: r.hosts }],
        handle: [r.maintenance ? maintenanceHandler(r, r.maintenance, side) : serveHandler(r, side)],
        terminal: true,
      }));
  // The git door's host comes first: no app can take it.
  const gitRoute = options.git
    ? [{ match: [{ host: [options.git.host] }], handle: [{ handler: 'reverse_proxy', upstreams: [{ dial: options.git.upstream }] }], terminal: true }]
    : [];
  const appRoutes = [...gitRoute, ...routesOf('public')];
  const notFound = { handle: [{ handler: 'static_response', status_code: 404, body: 'No app answers at this address.\n' }] };
  // Each hold being released sends the requests it kept here, to be routed like any other.
  const releasing = routes.flatMap((r) => (r.releasing ?? []).map((h) => `unix/${h.release}`));
  const releaseServer = {
    listen: releasing,
    automatic_https: { disable: true },
    routes: [
      { match: [{ path: [HOLD_CHECK_PATH] }], handle: [{ handler: 'static_response', status_code: 200 }], terminal: true },
      ...routesOf('release'),
      notFound,
    ],
  };
  const { tls } = options;
  return {
    // Certificates' keys are in the config: Caddy keeps it in memory only.
    admin: { listen: options.admin, config: { persist: false } },
    apps: {
      http: {
        // With TLS, Caddy's automatic HTTPS gets a certificate for every host the routes match (and only those).
        // Plain HTTP gets Skiff's own redirect, which names the HTTPS port (Caddy's drops it); every Caddy
        // server answers ACME's HTTP challenges before its routes, so this one does too.
        ...(tls ? { http_port: portOf(options.listen), https_port: portOf(tls.listen) } : {}),
        servers: {
          [CADDY_SERVER]: {
            listen: [tls ? tls.listen : options.listen],
            automatic_https: tls ? { disable_redirects: true } : { disable: true },
            routes: [...appRoutes, notFound],
          },
          ...(tls ? { [REDIRECT_SERVER]: redirectServer(options.listen, portOf(tls.listen)) } : {}),
          ...(releasing.length ? { [RELEASE_SERVER]: releaseServer } : {}),
        },
      },
      ...(tls
        ? {
            tls: tlsApp(
              tls,
              [...(options.git ? [options.git.host] : []), ...routes.flatMap((r) => r.hosts)],
              routes.flatMap((r) => r.certificates ?? []),
            ),
          }
        : {}),
    },
  };
}

/** The plain HTTP server with TLS on: every request goes to the same host and path over HTTPS, on the port Skiff serves it on. */
function redirectServer(listen: string, httpsPort: number): Record<string, unknown> {
  const port = httpsPort === 443 ? '' : `:${httpsPort}`;
  return {
    listen: [listen],
    automatic_https: { disable: true },
    routes: [{ handle: [{ handler: 'static_response', status_code: 308, headers: { Location: [`https://{http.request.host}${port}{http.request.uri}`] } }] }],
  };
}

/**
 * Caddy's tls app: one ACME issuer for every name, so no name falls back to
 * another CA; custom certificates loaded as they are, whose names Caddy then
 * leaves to them.
 *
 * The hosts' certificates are got on demand, at a TLS handshake for the host
 * (the server's watch makes one for each host that has none), and only when
 * Skiff's server answers the ask URL with yes. Caddy cancels the certificate
 * work it manages itself at every reload, and every route change reloads, so
 * managed orders were begun again and again; work begun at a handshake
 * outlives reloads. The ask lets Skiff space out the attempts for a host that
 * keeps failing, whoever makes handshakes for it: the CA's limits are shared
 * by every tenant. Only the listed hosts are on demand (an empty list would
 * mean every name).
 */
function tlsApp(tls: RouterTls, hosts: readonly string[], certificates: readonly { chain: string; key: string }[]): Record<string, unknown> {
  const issuer = { module: 'acme', ca: tls.ca, email: tls.email, ...(tls.caRoot ? { trusted_roots_pem_files: [tls.caRoot] } : {}) };
  return {
    ...(certificates.length ? { certificates: { load_pem: certificates.map((c) => ({ certificate: c.chain, key: c.key })) } } : {}),
    automation: {
      on_demand: { ask: tls.ask },
      policies: [...(hosts.length ? [{ subjects: [...new Set(hosts)], issuers: [issuer], on_demand: true }] : []), { issuers: [issuer] }],
    },
  };
}

/** The config without its certificates' keys, for a file on disk; they are loaded through the admin API. */
export function withoutKeys(config: Record<string, unknown>): Record<string, unknown> {
  const apps = config.apps as Record<string, Record<string, unknown>> | undefined;
  if (!apps?.tls?.certificates) return config;
  const { certificates: _dropped, ...tls } = apps.tls;
  return { ...config, apps: { ...apps, tls } };
}

/** Which server a route is for: the public one, or the one held requests come back through (from a hold, over a unix socket). */
type Side = 'public' | 'release';

/**
 * What the client was, carried through a hold: Caddy drops X-Forwarded-*
 * on a request that comes over a unix socket (it has no client address), so
 * the public side writes them down in headers of its own, which it always
 * sets (a client cannot bring its own), and the release side, which only
 * holds reach, gives them back to the app.
 */
const CARRIED = { 'X-Skiff-Client': ['{http.request.remote.host}'], 'X-Skiff-Proto': ['{http.request.scheme}'], 'X-Skiff-Host': ['{http.request.host}'] };
const RESTORED = {
  'X-Forwarded-For': ['{http.request.header.X-Skiff-Client}'],
  'X-Forwarded-Proto': ['{http.request.header.X-Skiff-Proto}'],
  'X-Forwarded-Host': ['{http.request.header.X-Skiff-Host}'],
};

/** Where an app's requests go: its web instances, or the hold that keeps them, or a 503 when none run. */
function serveHandler(r: Route, side: Side): Record<string, unknown> {
  if (r.heldBy) {
    // Every request goes to the hold (the first upstream, always available: no health checks). The app's own come
    // after it so that Caddy keeps counting the requests it sent them before (a handover drains them).
    return {
      handler: 'reverse_proxy',
      upstreams: [{ dial: `unix/${r.heldBy.socket}` }, ...r.upstreams.map((u) => ({ dial: parseUpstream(u).dial }))],
      headers: { request: { set: CARRIED } },
      load_balancing: { selection_policy: { policy: 'first' } },
    };
  }
  if (r.upstreams.length === 0) return { handler: 'static_response', status_code: 503, body: `${r.app} is not running.\n` };
  const set = { ...gatewayHeader(r.upstreams), ...(side === 'release' ? RESTORED : {}) };
  return {
    handler: 'reverse_proxy',
    upstreams: r.upstreams.map((u) => ({ dial: parseUpstream(u).dial })),
    ...(Object.keys(set).length ? { headers: { request: { set, ...(side === 'release' ? { delete: Object.keys(CARRIED) } : {}) } } } : {}),
    load_balancing: { selection_policy: { policy: 'round_robin' }, try_duration: '5s', try_interval: '100ms' },
  };
}

/** How long a client is told to wait before it asks an app in maintenance again. */
export const MAINTENANCE_RETRY_AFTER = '120';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * maintenance:on: paths under an allowed prefix are served as usual; every
 * other request gets 503 with Retry-After: a small page for browsers, JSON
 * for clients that ask for it, else plain text. The message has no braces
 * (domain/maintenance.ts), so Caddy's placeholders cannot reach it.
 */
function maintenanceHandler(r: Route, m: { message: string; allowPaths: string[] }, side: Side): Record<string, unknown> {
  const answer = (type: string, body: string): Record<string, unknown> => ({
    handler: 'static_response',
    status_code: 503,
    headers: { 'Retry-After': [MAINTENANCE_RETRY_AFTER], 'Content-Type': [type], 'Cache-Control': ['no-store'] },
    body,
  });
  const html = `<!doctype html>\n<html><head><meta charset="utf-8"><title>Down for maintenance</title></head>\n<body><h1>Down for maintenance</h1><p>${escapeHtml(m.message)}</p></body></html>\n`;
  const json = `${JSON.stringify({ error: 'maintenance', app: r.app, message: m.message })}\n`;
  const open = m.allowPaths.flatMap((p) => (p === '/' ? ['/*'] : [p, `${p}/*`]));
  return {
    handler: 'subroute',
    routes: [
      ...(open.length ? [{ match: [{ path: open }], handle: [serveHandler(r, side)], terminal: true }] : []),
      { match: [{ header: { Accept: ['*text/html*'] } }], handle: [answer('text/html; charset=utf-8', html)], terminal: true },
      { match: [{ header: { Accept: ['*application/json*'] } }], handle: [answer('application/json', json)], terminal: true },
      { handle: [answer('text/plain; charset=utf-8', `${m.message}\n`)] },
    ],
  };
}

/**
 * An upstream is host:port, or host:port/target for a gateway (the swarm
 * runtime's) that dials target for us: it is told so in a header.
 */
export function parseUpstream(upstream: string): { dial: string; via: string | undefined } {
  const slash = upstream.indexOf('/');
  return slash < 0 ? { dial: upstream, via: undefined } : { dial: upstream.slice(0, slash), via: upstream.slice(slash + 1) };
}

function gatewayHeader(upstreams: readonly string[]): Record<string, string[]> {
  const via = upstreams.map((u) => parseUpstream(u).via).find((v) => v !== undefined);
  return via ? { 'X-Skiff-Upstream': [via] } : {};
}

/** The host names an app answers at: APP.DOMAIN, and its custom domains. */
export function appHosts(app: string, domain: string, custom: readonly string[]): string[] {
  return [defaultHost(app, domain), ...custom];
}
