import fs from 'node:fs';
import path from 'node:path';
import { parseAppName } from '../domain/app-name.js';
import { defaultHost } from '../domain/host-name.js';
import { ConflictError, DeniedError, NotFoundError } from '../errors.js';
import type { App } from '../store/store.js';
import type { Caller, CommandContext, Services } from './command.js';
import { withAppLock } from '../pipeline/lock.js';
import { applyRoutes } from '../pipeline/route.js';
import { mayUseApp } from '../pipeline/app-stack.js';
import { recordLeftovers } from '../pipeline/prune.js';

/** Admins may use every app; a user the apps they created and those shared with them. */
export function mayUse(services: Services, caller: Caller, app: App): boolean {
  return mayUseApp(services.store, app.name, caller.user, caller.admin);
}

/**
 * The app, if the caller may use it. A user who may not gets `access denied`
 * whether or not the app exists, so nothing is learned about other apps.
 * With owner, only the owner or an admin passes (destroy, access).
 */
export function getApp(services: Services, caller: Caller, name: string | undefined, options: { owner?: boolean } = {}): App {
  const app = services.store.apps.find(parseAppName(name));
  if (!caller.admin) {
    if (!app || !mayUse(services, caller, app)) throw new DeniedError();
    if (options.owner && app.createdBy !== caller.user) throw new DeniedError(`access denied: only the owner of ${app.name} (${app.createdBy}) or an admin may do that`);
  }
  if (!app) throw new NotFoundError(`app '${name}' not found; create it with apps:create ${name}, or push to it`);
  return app;
}

/** Plain users create apps unless SKIFF_USERS_CAN_CREATE is off. */
export function assertMayCreate(services: Services, caller: Caller): void {
  if (!caller.admin && !services.config.usersCanCreate) throw new DeniedError('access denied: only admins may create apps here');
}

/** Creates repo and record; the repo is made first and idempotently, so a crash leaves nothing that blocks a retry. */
export async function createApp(services: Services, name: string, caller: Caller, stack: string | null = null): Promise<App> {
  parseAppName(name);
  assertMayCreate(services, caller);
  if (services.store.apps.find(name)) throw new ConflictError(`app '${name}' already exists`);
  // The name's host must be free: an app's default host is never shared with another app's domain.
  const host = defaultHost(name, services.config.domain);
  if (services.store.domains.owner(host)) throw new ConflictError(`the host ${host} is a domain of another app; choose another name`);
  await services.repos.ensure(name);
  const app = services.store.apps.create(name, caller.user, stack);
  services.log.info({ app: name, user: caller.user }, 'app created');
  return app;
}

/**
 * Removes everything the app owns, each step idempotent, the record last so
 * an interrupted destroy can be run again. Returns how many of its images
 * stay for now (others build on them); the server removes them later.
 */
export async function destroyApp(services: Services, name: string): Promise<number> {
  services.store.routes.set(name, []);
  await services.runtime.destroy(name);
  const left = await services.images.removeApp(name);
  recordLeftovers(services.config, left);
  services.repos.remove(name);
  fs.rmSync(path.join(services.config.buildsDir, name), { recursive: true, force: true });
  services.store.apps.remove(name);
  await applyRoutes(services).catch((err: unknown) => services.log.warn({ err, app: name }, 'routes not updated; the server does it when it starts'));
  services.log.info({ app: name, imagesLeft: left.length }, 'app destroyed');
  return left.length;
}

export function gitRemote(services: Services, app: string): string {
  return `ssh://git@${services.config.domain}:${services.config.sshPort}/${app}.git`;
}

/** Runs fn under the app's lock, telling the caller on stderr while another change of the app finishes first. */
export function withCommandLock<T>(ctx: Pick<CommandContext, 'services' | 'io' | 'caller'>, app: string, purpose: string, fn: () => Promise<T>): Promise<T> {
  return withAppLock(ctx.services.store, app, { holder: ctx.caller.user, purpose }, (m) => ctx.io.stderr.write(`-----> ${m}\n`), ctx.io.signal, fn);
}
