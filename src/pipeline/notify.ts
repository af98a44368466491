import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { BlockList, LookupFunction } from 'node:net';
import { allowList, assertReachableLiteral, forbiddenResolution } from '../domain/address-policy.js';
import type { Release } from '../domain/entities.js';
import type { PipelineDeps } from './deps.js';
import { appUrl } from './route.js';

const TIMEOUT_MS = 5000;

/** The JSON a deploy webhook receives after each release. Never a config value. */
export function releaseNotice(deps: Pick<PipelineDeps, 'config'>, rel: Release, user: string): Record<string, unknown> {
  return {
    event: 'release',
    app: rel.app,
    release: rel.version,
    description: rel.description,
    commit: rel.commit,
    user,
    url: appUrl(deps, rel.app),
    time: new Date().toISOString(),
  };
}

/**
 * Resolves a webhook's host when it is sent and refuses it when any address
 * is loopback, private, link-local or unspecified (unless SKIFF_HOOKS_ALLOW
 * allows it); the connection then goes to the address that was checked, so
 * a name that resolves differently a moment later (DNS rebinding) gets nowhere.
 */
export function guardedLookup(allowed: BlockList): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { all: true, family: options.family, hints: options.hints }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const why =
        addresses.length === 0
          ? `${hostname} has no address`
          : forbiddenResolution(
              hostname,
              addresses.map((a) => a.address),
              allowed,
            );
      if (why) return callback(Object.assign(new Error(`refused: ${why}`), { code: 'EFORBIDDEN' }), '', 0);
      if (options.all) return callback(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

/**
 * One POST to a user's URL: its address checked (node resolves no literal
 * address, so a literal is checked here, a name in guardedLookup), no
 * redirects followed (a 3xx is an answer like any other), bounded in time.
 */
export function postJson(url: string, body: string, allowed: BlockList, timeoutMs = TIMEOUT_MS): Promise<number> {
  const u = new URL(url);
  const client = u.protocol === 'https:' ? https : http;
  const lookup = guardedLookup(allowed);
  return new Promise((resolve, reject) => {
    assertReachableLiteral(u, allowed);
    const req = client.request(
      u,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'skiff-webhook' },
        lookup,
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Posts a notice (a release, a failed scheduled job) to each of the app's
 * webhooks, together, each with a timeout. A hook that fails or is refused
 * is logged; it never fails what it reports.
 */
export async function notifyWebhooks(deps: Pick<PipelineDeps, 'store' | 'log' | 'config'>, app: string, notice: Record<string, unknown>): Promise<void> {
  const hooks = deps.store.webhooks.list(app);
  if (hooks.length === 0) return;
  const body = JSON.stringify(notice);
  const allowed = allowList(deps.config.hooksAllow);
  await Promise.all(
    hooks.map(async (hook) => {
      try {
        const status = await postJson(hook.url, body, allowed);
        if (status < 200 || status >= 300) deps.log.warn({ app, hook: hook.id, status }, 'webhook answered with an error');
      } catch (err) {
        deps.log.warn({ app, hook: hook.id, err }, 'webhook failed');
      }
    }),
  );
}
