import fs from 'node:fs';
import path from 'node:path';
import { parseAppName } from '../domain/app-name.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { App } from '../store/store.js';
import type { Caller, Services } from './command.js';
import { applyRoutes } from '../pipeline/route.js';

/** The app or a not-found error that says how to make one. */
export function getApp(services: Services, name: string | undefined): App {
  const app = services.store.apps.find(parseAppName(name));
  if (!app) throw new NotFoundError(`app '${name}' not found; create it with apps:create ${name}, or push to it`);
  return app;
}

/** Creates repo and record; the repo is made first and idempotently, so a crash leaves nothing that blocks a retry. */
export async function createApp(services: Services, name: string, caller: Caller): Promise<App> {
  parseAppName(name);
  if (services.store.apps.find(name)) throw new ConflictError(`app '${name}' already exists`);
  await services.repos.ensure(name);
  const app = services.store.apps.create(name, caller.user);
  services.log.info({ app: name, user: caller.user }, 'app created');
  return app;
}

/** Removes everything the app owns, each step idempotent, the record last so an interrupted destroy can be run again. */
export async function destroyApp(services: Services, name: string): Promise<void> {
  services.store.routes.set(name, []);
  await services.runtime.destroy(name);
  await services.images.removeApp(name);
  services.repos.remove(name);
  fs.rmSync(path.join(services.config.buildsDir, name), { recursive: true, force: true });
  services.store.apps.remove(name);
  await applyRoutes(services).catch((err: unknown) => services.log.warn({ err, app: name }, 'routes not updated; the server does it when it starts'));
  services.log.info({ app: name }, 'app destroyed');
}

export function gitRemote(services: Services, app: string): string {
  return `ssh://git@${services.config.domain}:${services.config.sshPort}/${app}.git`;
}
