import type { Release } from '../store/store.js';
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
 * Posts the notice to each of the app's webhooks, together, each with a
 * timeout. A hook that fails is logged; it never fails the deploy.
 */
export async function notifyWebhooks(deps: Pick<PipelineDeps, 'store' | 'log' | 'config'>, rel: Release, user: string): Promise<void> {
  const hooks = deps.store.webhooks.list(rel.app);
  if (hooks.length === 0) return;
  const body = JSON.stringify(releaseNotice(deps, rel, user));
  await Promise.all(
    hooks.map(async (hook) => {
      try {
        const res = await fetch(hook.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'skiff-webhook' },
          body,
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        if (!res.ok) deps.log.warn({ app: rel.app, hook: hook.id, status: res.status }, 'webhook answered with an error');
      } catch (err) {
        deps.log.warn({ app: rel.app, hook: hook.id, err }, 'webhook failed');
      }
    }),
  );
}
