import crypto from 'node:crypto';
import { getApp, getService, assertMayCreate, mayUseService } from '../access/policy.js';
import {
  linkVariable,
  parseServiceKind,
  parseServiceName,
  serviceImage,
  type BackingService,
  type Backup,
  type ServiceLink,
} from '../domain/backing-service.js';
import { printable } from '../domain/app-name.js';
import { ConflictError, InvalidError, NotFoundError, UsageError } from '../errors.js';
import type { LogLine } from '../runtime/log-lines.js';
import type { ServiceState } from '../runtime/backing-services.js';
import type { OneOffIO } from '../runtime/runtime.js';
import { configOf, configOrigins } from '../pipeline/app-config.js';
import { releaseConfig } from './config.js';
import { serverOp, withOpLock, type Ask, type Op, type Services } from './operation.js';
import { parseUserName } from '../domain/user-name.js';

/** How long a service's container has to answer after it starts. */
const SERVICE_READY_MS = 120_000;

/** A service as services and services:info show it: its record (but its identity), its state, links and backups. */
export interface ServiceInfo extends Omit<BackingService, 'id'> {
  state: string;
  bytes: number | null;
  links: { app: string; variable: string }[];
  lastGoodBackup: { id: number; at: string; ageSeconds: number } | null;
  lastBackup: Pick<Backup, 'id' | 'status' | 'startedAt' | 'error'> | null;
}

/** services:create KIND NAME [--version V]: the record first (with the owner's quota counted), then its container, which must answer; nothing is left of a failed one. */
export async function createService(
  op: Op,
  kindInput: string | undefined,
  nameInput: string | undefined,
  version: string | undefined,
): Promise<BackingService> {
  const { services, caller } = op;
  const kind = parseServiceKind(kindInput);
  const name = parseServiceName(nameInput);
  assertMayCreate(services.config, caller);
  if (services.store.backingServices.find(name)) throw new ConflictError(`service ${name} exists already`);
  const { image, version: tag } = serviceImage(services.config.serviceImages[kind], version);
  const password = crypto.randomBytes(24).toString('hex');
  const service = services.store.backingServices.create(
    { id: crypto.randomBytes(8).toString('hex'), name, kind, version: tag, image, owner: caller.user },
    password,
    caller.admin ? 0 : services.config.quotas.servicesPerUser,
  );
  op.progress.step(`Creating ${kind} ${tag} service ${name}`);
  try {
    await services.serviceContainers.ensure(service, password, SERVICE_READY_MS);
  } catch (err) {
    await services.serviceContainers.remove(service).catch((e: unknown) => services.log.warn({ err: e, service: name }, 'could not remove a failed service'));
    services.store.backingServices.remove(service.id);
    throw err;
  }
  services.log.info({ service: name, kind, user: caller.user }, 'service created');
  op.progress.info(`${name} is running; link it to an app with services:link ${name} APP`);
  return service;
}

/** services: the services the caller may use (an admin: all). */
export async function listServices({ services, caller }: Ask): Promise<ServiceInfo[]> {
  const mine = services.store.backingServices.list().filter((s) => mayUseService(services.store, s, caller));
  return Promise.all(mine.map((s) => describe(services, s)));
}

/** services:info NAME */
export async function serviceInfo({ services, caller }: Ask, name: string | undefined): Promise<ServiceInfo> {
  return describe(services, getService(services, caller, name));
}

async function describe(services: Services, service: BackingService): Promise<ServiceInfo> {
  const state: ServiceState = await services.serviceContainers.state(service).catch(() => ({ state: 'unknown', bytes: null }));
  const backups = services.store.backups.list(service.id);
  const good = backups.find((b) => b.status === 'good');
  const last = backups[0];
  const { id, ...record } = service;
  return {
    ...record,
    state: state.state,
    bytes: state.bytes,
    links: services.store.backingServices.links({ serviceId: id }).map((l) => ({ app: l.app, variable: l.variable })),
    lastGoodBackup: good
      ? { id: good.id, at: good.finishedAt ?? good.startedAt, ageSeconds: Math.round((Date.now() - Date.parse(good.finishedAt ?? good.startedAt)) / 1000) }
      : null,
    lastBackup: last ? { id: last.id, status: last.status, startedAt: last.startedAt, error: last.error } : null,
  };
}

/** services:destroy NAME --confirm NAME: refused while linked; its container, network, data and backups go. */
export async function destroyService({ services, caller }: Ask, name: string | undefined, confirm: string | undefined): Promise<void> {
  const service = getService(services, caller, name, { owner: true });
  const links = services.store.backingServices.links({ serviceId: service.id });
  if (links.length)
    throw new ConflictError(`${service.name} is linked to ${links.map((l) => l.app).join(', ')}; services:unlink ${service.name} ${links[0].app} first`);
  if (confirm !== service.name)
    throw new UsageError(
      `this deletes ${service.name} and all its data and backups; to go on, run: services:destroy ${service.name} --confirm ${service.name}`,
    );
  await services.serviceContainers.remove(service);
  services.store.backingServices.remove(service.id);
  services.backupFiles.removeService(service.id);
  services.log.info({ service: service.name, user: caller.user }, 'service destroyed');
}

/** services:restart NAME */
export async function restartService(op: Op, name: string | undefined): Promise<void> {
  const { services } = op;
  const service = getService(services, op.caller, name);
  op.progress.step(`Restarting ${service.name}`);
  await services.serviceContainers.restart(service, services.store.backingServices.password(service.id), services.config.stopTimeoutSeconds, SERVICE_READY_MS);
}

/** services:logs NAME [-t] */
export async function serviceLogs(
  { services, caller }: Ask,
  name: string | undefined,
  options: { tail: number; follow: boolean; signal: AbortSignal },
  onLine: (line: LogLine) => void,
): Promise<void> {
  const service = getService(services, caller, name);
  await services.serviceContainers.logs(service, options, onLine);
}

/**
 * services:link NAME APP [--as VAR]: the app gets the service's URL as a
 * config var, and its containers join the service's network, as a new
 * release with the usual rollout and release phase; a release that does not
 * come up takes the link back. Only a user who may use both.
 */
export async function linkService(
  op: Op,
  name: string | undefined,
  appName: string | undefined,
  options: { as?: string; releasePhase: boolean },
): Promise<ServiceLink> {
  const { services, caller } = op;
  const service = getService(services, caller, name);
  const app = getApp(services, caller, appName);
  return withOpLock(op, app.name, 'service link', async () => {
    const origins = configOrigins(services.store, app.name);
    const variable = linkVariable(service, Object.keys(configOf(services.store, app.name)), options.as);
    if (origins[variable] !== undefined && !origins[variable].startsWith('service '))
      throw new ConflictError(`${app.name} has ${variable} already (${origins[variable]}); config:unset it first, or link with --as ANOTHER_VAR`);
    const link = services.store.backingServices.link({ serviceId: service.id, app: app.name, variable, linkedBy: caller.user });
    await releaseConfig(op, app.name, `Linking ${service.name} as ${variable}`, { restart: true, releasePhase: options.releasePhase }, () =>
      services.store.backingServices.unlink(service.id, app.name),
    );
    return link;
  });
}

/** services:unlink NAME APP: the var goes and the app's containers leave the network, as a new release. A user of either side may end a link. */
export async function unlinkService(op: Op, name: string | undefined, appName: string | undefined, options: { releasePhase: boolean }): Promise<ServiceLink> {
  const { services, caller } = op;
  const service = getService(services, caller, name);
  const app = services.store.apps.find(appName ?? '');
  const link = app && services.store.backingServices.links({ serviceId: service.id, app: app.name })[0];
  if (!app || !link) throw new NotFoundError(`${service.name} is not linked to '${printable(appName ?? '')}'; services:info ${service.name} lists its apps`);
  return withOpLock(op, app.name, 'service link', async () => {
    services.store.backingServices.unlink(service.id, app.name);
    await releaseConfig(op, app.name, `Unlinking ${service.name} (${link.variable})`, { restart: true, releasePhase: options.releasePhase }, () =>
      services.store.backingServices.link({ serviceId: link.serviceId, app: link.app, variable: link.variable, linkedBy: link.linkedBy }),
    );
    return link;
  });
}

/**
 * At the server's start, before the apps converge (their containers join
 * the services' networks): every service runs again; backups a stopped
 * server left running are marked bad, with their scratch containers gone.
 */
export async function startServices(services: Services): Promise<void> {
  for (const b of services.store.backups.failAbandoned()) services.log.warn({ service: b.service, backup: b.id }, 'backup interrupted; marked bad');
  for (const service of services.store.backingServices.list()) {
    try {
      await services.serviceContainers.removeScratches(service);
      await services.serviceContainers.ensure(service, services.store.backingServices.password(service.id), SERVICE_READY_MS);
    } catch (err) {
      services.log.error({ err, service: service.name }, 'could not start a service');
    }
  }
}

/** services:connect NAME: the kind's client (psql, redis-cli) attached to io, as the service's owner or an admin. */
export async function connectService({ services, caller }: Ask, name: string | undefined, io: OneOffIO): Promise<number> {
  const service = getService(services, caller, name);
  services.log.info({ service: service.name, user: caller.user }, 'service client');
  return services.serviceContainers.connect(service, services.store.backingServices.password(service.id), io);
}

/** services:access:add NAME USER (owner or admin): the user may use the service (link it to their apps, back it up, connect). */
export function shareService({ services, caller }: Ask, name: string | undefined, userName: string | undefined): { service: string; user: string } {
  const service = getService(services, caller, name, { owner: true });
  const user = parseUserName(userName ?? '');
  if (!services.store.keys.hasUser(user)) throw new NotFoundError(`no user named ${user}; keys:add adds one`);
  if (user === service.owner) throw new InvalidError(`${user} owns ${service.name} already`);
  services.store.backingServices.grant(service.id, user, caller.user);
  return { service: service.name, user };
}

/**
 * services:access:remove NAME USER (owner or admin): what the access
 * allowed ends with it, as for apps: the links the user made to the
 * service are taken away, each as a release of its app.
 */
export async function unshareService(
  op: Op,
  name: string | undefined,
  userName: string | undefined,
): Promise<{ service: string; user: string; unlinked: string[] }> {
  const { services } = op;
  const service = getService(services, op.caller, name, { owner: true });
  const user = parseUserName(userName ?? '');
  if (!services.store.backingServices.revoke(service.id, user))
    throw new NotFoundError(`${user} has no access to ${service.name}; services:access ${service.name} lists who has`);
  const links = services.store.backingServices.links({ serviceId: service.id }).filter((l) => l.linkedBy === user);
  return { service: service.name, user, unlinked: await endLinks(op, links, `${user} may no longer use ${service.name}`) };
}

/** Takes these links away (a release of each app, without its release phase: the database is going away from it); returns the apps unlinked. */
export async function endLinks(op: Op, links: readonly ServiceLink[], why: string): Promise<string[]> {
  const server = serverOp(op.services, op.progress, op.signal);
  const ended: string[] = [];
  for (const link of links) {
    op.progress.step(`Unlinking ${link.service} from ${link.app} (${why})`);
    try {
      await unlinkService(server, link.service, link.app, { releasePhase: false });
      ended.push(link.app);
    } catch (err) {
      op.services.log.warn({ err, app: link.app, service: link.service }, 'could not end a link');
    }
  }
  return ended;
}

/** services:access NAME: the owner and the users it is shared with. */
export function serviceUsers({ services, caller }: Ask, name: string | undefined): { owner: string; users: string[] } {
  const service = getService(services, caller, name);
  return { owner: service.owner, users: services.store.backingServices.users(service.id) };
}
