import { MAX_ALLOW_PATHS, parseAllowPath, parseMaintenanceMessage, type Maintenance } from '../domain/maintenance.js';
import { InvalidError } from '../errors.js';
import { getApp } from '../access/policy.js';
import { applyRoutes } from '../pipeline/route.js';
import type { App } from '../domain/entities.js';
import type { Ask } from './operation.js';

/**
 * maintenance:on: from the router's next load on (at once), every request to
 * the app gets 503 with Retry-After but those under an allowed path. It is
 * recorded with the app, so deploys and restarts of the server keep it.
 * If the router refuses the change, the record goes back.
 */
export async function maintenanceOn(
  ask: Ask,
  appName: string,
  options: { message?: string; allowPaths?: readonly string[] },
): Promise<{ app: App; maintenance: Maintenance }> {
  const app = getApp(ask.services, ask.caller, appName);
  const paths = [...new Set((options.allowPaths ?? []).map(parseAllowPath))];
  if (paths.length > MAX_ALLOW_PATHS) throw new InvalidError(`at most ${MAX_ALLOW_PATHS} --allow-path prefixes`);
  const maintenance: Maintenance = {
    message: options.message === undefined ? null : parseMaintenanceMessage(options.message),
    allowPaths: paths,
    since: app.maintenance?.since ?? new Date().toISOString(),
  };
  await change(ask, app, maintenance);
  return { app, maintenance };
}

export async function maintenanceOff(ask: Ask, appName: string): Promise<App> {
  const app = getApp(ask.services, ask.caller, appName);
  await change(ask, app, null);
  return app;
}

async function change({ services }: Ask, app: App, maintenance: Maintenance | null): Promise<void> {
  const before = app.maintenance;
  services.store.apps.setMaintenance(app.name, maintenance);
  try {
    await applyRoutes(services);
  } catch (err) {
    services.store.apps.setMaintenance(app.name, before);
    throw err;
  }
}
