import type { Services } from '../operations/operation.js';
import { applyRoutes, currentRoutes } from '../pipeline/route.js';
import { caddyConfig } from '../router/caddy-config.js';
import { serveCertificateAsk } from '../router/certificate-ask.js';
import { routerServe } from './compose.js';

/* The server's chores: the router's watchdog, certificates, pauses' ends, review apps' expiry, scheduled backups. */

/**
 * Runs a server chore every `ms` (and once now, when asked), never two at
 * once; a failure is logged as `failed`, and the next round tries again.
 */
function everyNow(services: Services, ms: number, failed: string, chore: () => Promise<void>, options: { now?: boolean } = {}): void {
  let running = false;
  const round = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      await chore();
    } catch (err) {
      services.log.error({ err }, failed);
    } finally {
      running = false;
    }
  };
  if (options.now) void round();
  setInterval(() => void round(), ms).unref();
}

/**
 * Automatic certificates: the server answers the router's asks and begins
 * the attempts due, and failures to get one reach the app's events and
 * webhooks, checked every few seconds.
 */
export async function watchCertificates(services: Services): Promise<void> {
  const { IssuanceWatch, CertificateDemand } = await import('../operations/certs.js');
  const watch = new IssuanceWatch(services);
  everyNow(services, 3000, 'could not check the router for failed certificates', async () => void (await watch.check()));
  if (!services.config.tls || !services.config.ownCaddy) return;
  const demand = new CertificateDemand(services);
  await serveCertificateAsk(services.config.caddyDir, (host) => demand.ask(host));
  everyNow(services, 3000, 'could not begin the certificates due', async () => demand.request(), { now: true });
}

/** A pause ends at its --max, whoever is there to resume it. */
export function resumePausesWhenDue(services: Services): void {
  everyNow(services, 250, 'could not resume the pauses that reached their end', async () => {
    const { resumeDuePauses } = await import('../operations/pause.js');
    for (const app of await resumeDuePauses(services)) services.log.info({ app }, 'pause reached its end; resumed');
  });
}

/** Review apps idle past SKIFF_REVIEW_APPS_TTL_DAYS go: checked at start, then a quarter of the TTL apart (at most hourly). */
export function expireReviewAppsNowAndThen(services: Services): void {
  const every = Math.min(3_600_000, Math.max(1000, (services.config.reviewAppsTtlDays * 86_400_000) / 4));
  everyNow(
    services,
    every,
    'review app expiry failed',
    async () => {
      const { expireReviewApps } = await import('../operations/apps.js');
      await expireReviewApps(services);
    },
    { now: true },
  );
}

/**
 * The router: Skiff's own Caddy (started, or adopted when one from an earlier
 * run still answers) unless SKIFF_CADDY_ADMIN names another. A watchdog
 * restarts ours if it dies, and reloads the whole routing from the database
 * into whichever Caddy comes back empty.
 */
export async function superviseRouter(services: Services): Promise<void> {
  const { CaddyProcess } = await import('../router/caddy-process.js');
  const { config, log } = services;
  const caddy = new CaddyProcess({
    dir: config.caddyDir,
    admin: config.caddyAdmin,
    log,
    config: () => caddyConfig(currentRoutes(services), { admin: config.caddyAdmin, ...routerServe(config) }),
  });
  caddy.ensureMigrateReq();
  if (config.ownCaddy) await caddy.ensure();
  let checking = false;
  const check = async (): Promise<void> => {
    if (checking) return;
    checking = true;
    try {
      if (config.ownCaddy) await caddy.ensure();
      if (!(await services.router.isConfigured())) {
        log.warn('router came back without routes; reloading them');
        await applyRoutes(services);
      }
    } catch (err) {
      log.error({ err }, 'router check failed');
    } finally {
      checking = false;
    }
  };
  setInterval(() => void check(), 2000).unref();
}

/** Scheduled backups (services:backups:schedule): due ones are taken, one at a time, checked every second. */
export function backUpWhenDue(services: Services): void {
  everyNow(services, 1000, 'could not take the scheduled backups', async () => {
    const { takeDueBackups } = await import('../operations/backups.js');
    await takeDueBackups(services);
  });
}
