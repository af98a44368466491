import fs from 'node:fs';
import path from 'node:path';
import { parseAppName } from '../domain/app-name.js';
import { defaultHost } from '../domain/host-name.js';
import type { StackDefinition } from '../domain/stackfile.js';
import { ConflictError, InvalidError } from '../errors.js';
import { converge } from '../pipeline/converge.js';
import { assertAdmin, assertMayCreate, getUsableStack, getApp, mayUseApp, pipelineOf } from '../access/policy.js';
import { isProcessAlive } from '../processes.js';
import { recordLeftovers } from '../pipeline/prune.js';
import { letRequestsGo } from '../pipeline/hold.js';
import { applyRoutes } from '../pipeline/route.js';
import { parseRuntimeName } from '../runtime/runtimes.js';
import { SINGLE_WRITER_ON_SWARM, STORAGE_STAYS } from '../runtime/swarm-runtime.js';
import type { App, Stack } from '../domain/entities.js';
import { applyToRelease, serverOp, withOpLock, type Ask, type Caller, type Op, type Services } from './operation.js';
import { endShares, sharesOf } from './storage.js';

/** Creates repo and record; the repo is made first and idempotently, so a crash leaves nothing that blocks a retry. */
export async function createApp(services: Services, name: string, caller: Caller, stack: string | null = null): Promise<App> {
  parseAppName(name);
  assertMayCreate(services.config, caller);
  if (services.store.apps.find(name)) throw new ConflictError(`app '${name}' already exists`);
  // The name's host must be free: an app's default host is never shared with another app's domain.
  const host = defaultHost(name, services.config.domain);
  if (services.store.domains.owner(host)) throw new ConflictError(`the host ${host} is a domain of another app; choose another name`);
  assertNotReviewName(services, name, caller);
  await services.repos.ensure(name);
  const limit = services.config.quotas.appsPerUser;
  // Counted in the creation's transaction: two creations at once cannot both take the last place.
  const app = services.store.transaction(() => {
    if (!caller.admin && limit > 0) {
      const count = services.store.apps.list().filter((a) => a.createdBy === caller.user && !a.reviewOf).length;
      if (count >= limit)
        throw new ConflictError(`you have ${count} apps, the most SKIFF_MAX_APPS_PER_USER allows here; destroy one first, or ask an admin to raise the limit`);
    }
    return services.store.apps.create(name, caller.user, stack);
  });
  services.log.info({ app: name, user: caller.user }, 'app created');
  return app;
}

/**
 * Names PARENT-… are kept for PARENT's review apps while it makes them:
 * only a user of PARENT may take one, so nobody else's app can pose as a
 * review app of it (its host, its place in the list).
 */
function assertNotReviewName(services: Services, name: string, caller: Caller): void {
  for (const parent of services.store.apps.list()) {
    if (!name.startsWith(`${parent.name}-`) || parent.reviewOf) continue;
    if (parent.reviewApps === null && services.store.apps.reviewAppsOf(parent.name).length === 0) continue;
    if (!mayUseApp(services.store, parent.name, caller))
      throw new ConflictError(`names starting ${parent.name}- are kept for the review apps of ${parent.name}; choose another name`);
  }
}

/** apps:create: an app, optionally on a stack the caller may use, which sets how its web process runs. */
export async function createAppOnStack(op: Ask, name: string, stackName: string | null): Promise<{ app: App; stack: Stack | 'builtin' | undefined }> {
  const stack = stackName === null ? undefined : getUsableStack(op.services.store, stackName, op.caller);
  const app = await createApp(op.services, name, op.caller, stackName);
  if (stack && stack !== 'builtin') applyStackFormation(op.services, app.name, stack.definition);
  return { app, stack };
}

/** A stack's service says how its apps run: web instances and their limits, as ps:scale and resources:set would set them. */
function applyStackFormation(services: Services, app: string, stack: StackDefinition): void {
  const { instances, memoryMb, cpus } = stack.service;
  services.store.formation.setQuantities(app, { web: instances });
  if (memoryMb !== null || cpus !== null) {
    services.store.formation.setResources(app, 'web', { memory: memoryMb === null ? null : memoryMb * 1024 * 1024, cpus });
  }
}

/** apps:stack-update: the stack the app builds with from its next push; null for none. */
export function setAppStack(op: Ask, appName: string, stackName: string | null): App {
  const { services, caller } = op;
  const app = getApp(services, caller, appName, { owner: true });
  if (stackName === null) {
    services.store.apps.setStack(app.name, null);
    return app;
  }
  const stack = getUsableStack(services.store, stackName, caller);
  services.store.transaction(() => {
    services.store.apps.setStack(app.name, stackName);
    if (stack !== 'builtin') applyStackFormation(services, app.name, stack.definition);
  });
  return app;
}

/**
 * Removes everything the app owns, each step idempotent, the record last so
 * an interrupted destroy can be run again. Returns how many of its images
 * stay for now (others build on them); the server removes them later.
 */
export async function destroyApp(op: Op, name: string): Promise<number> {
  const { services } = op;
  const record = services.store.apps.find(name);
  // Whoever destroys an app (its owner, a branch deletion, expiry) ends what other apps mount of it:
  // its volumes go with it, and nothing of them may come back to a later app of the name.
  const stuck = await endShares(op, sharesOf(services, name), `${name} is destroyed`);
  if (stuck.length) throw new ConflictError(`${name}'s storage is still shared with ${stuck.join(', ')}, which did not restart without it; try again`);
  await stopScheduledRuns(services, name);
  services.store.routes.set(name, []);
  // Requests a pause holds have no app to go to any more: they are answered so, and the hold is free.
  await letRequestsGo(services, name);
  await services.runtime.destroy(name);
  const left = await services.images.removeApp(name);
  recordLeftovers(services.config, left);
  const volumes = record ? await services.volumes.removeApp(record) : [];
  if (volumes.length) services.log.warn({ app: name, volumes }, 'volumes still in use were not removed');
  services.repos.remove(name);
  fs.rmSync(path.join(services.config.buildsDir, name), { recursive: true, force: true });
  services.store.backingServices.unlinkApp(name);
  services.store.backups.forgetApp(name);
  services.store.apps.remove(name);
  await applyRoutes(services).catch((err: unknown) => services.log.warn({ err, app: name }, 'routes not updated; the server does it when it starts'));
  services.log.info({ app: name, imagesLeft: left.length }, 'app destroyed');
  return left.length;
}

/**
 * A destroy first takes the app's scheduled jobs away (no current release:
 * the scheduler starts no run of it, and a run that was starting finds the
 * release gone), then stops the runs still going and waits for their
 * records to end, so no run holds the app's volume while it is removed.
 */
async function stopScheduledRuns(services: Services, app: string): Promise<void> {
  services.store.apps.setCurrentRelease(app, null);
  for (let waited = 0; waited < 30_000; waited += 200) {
    services.store.cron.failAbandoned(isProcessAlive);
    const running = services.store.cron.running(app);
    if (running.length === 0) return;
    await services.runtime.stopCronRuns(app).catch((err: unknown) => services.log.warn({ err, app }, 'could not stop scheduled runs'));
    await services.clock.sleep(200);
  }
  services.log.warn({ app }, 'scheduled runs still recorded as running at destroy');
}

/** apps:destroy, under the app's lock, by its owner or an admin; its review apps go with it. */
export async function destroyOwnApp(op: Op, name: string): Promise<{ app: App; imagesLeft: number; reviewApps: string[] }> {
  const app = getApp(op.services, op.caller, name, { owner: true });
  const reviewApps = op.services.store.apps.reviewAppsOf(app.name).map((r) => r.name);
  for (const review of reviewApps) await withOpLock(op, review, 'destroy', () => destroyApp(op, review));
  const imagesLeft = await withOpLock(op, app.name, 'destroy', () => destroyApp(op, app.name));
  return { app, imagesLeft, reviewApps };
}

/** Review apps: at most this many unless --max says otherwise. */
export const DEFAULT_REVIEW_APPS = 5;

/**
 * apps:set APP review-apps on|off [--max N] (owner or admin): with it on, a
 * push of any branch but main and master deploys that branch's review app.
 * Off keeps the review apps there are; deleting their branches removes them.
 */
export function setReviewApps(op: Ask, appName: string, value: string | undefined, max: string | undefined): { app: App; max: number | null } {
  const { services, caller } = op;
  const app = getApp(services, caller, appName, { owner: true });
  if (app.reviewOf) throw new InvalidError(`${app.name} is a review app itself (of ${app.reviewOf.parent})`);
  if (value !== 'on' && value !== 'off') throw new InvalidError('review-apps takes on or off');
  let limit: number | null = null;
  if (value === 'on') {
    limit = max === undefined ? DEFAULT_REVIEW_APPS : Number(max);
    if (!Number.isInteger(limit) || limit < 1 || limit > 50) throw new InvalidError('--max takes a whole number from 1 to 50');
  } else if (max !== undefined) throw new InvalidError('--max goes with review-apps on');
  services.store.apps.setReviewApps(app.name, limit);
  syncAllRefs(services, app.name);
  return { app, max: limit };
}

/**
 * The repo's hook sends every ref to Skiff when the app makes review apps,
 * still has some (deleting their branches removes them), or is a production
 * app of a pipeline.
 */
export function syncAllRefs(services: Pick<Services, 'store' | 'repos'>, app: string): void {
  const record = services.store.apps.find(app);
  if (!record || !services.repos.exists(app)) return;
  const reviews = record.reviewApps !== null || services.store.apps.reviewAppsOf(app).length > 0;
  services.repos.setAllRefs(app, reviews || pipelineOf(services.store, app)?.stage === 'production');
}

/**
 * Review apps that have had no push for SKIFF_REVIEW_APPS_TTL_DAYS are
 * destroyed, each with an event; the server runs this now and then. now is
 * a parameter so a test can move the clock.
 */
export async function expireReviewApps(services: Services, now = new Date()): Promise<string[]> {
  const ttlMs = services.config.reviewAppsTtlDays * 86_400_000;
  const expired: string[] = [];
  for (const app of services.store.apps.list()) {
    if (!app.reviewOf) continue;
    const last = services.store.releases.current(app.name)?.createdAt;
    const latestBuild = services.store.builds.latest(app.name)?.startedAt;
    const active = [app.createdAt, last, latestBuild].filter((t): t is string => t !== undefined).map((t) => Date.parse(t));
    if (now.getTime() - Math.max(...active) < ttlMs) continue;
    const owner = { holder: 'skiff', purpose: 'expire review app', pid: process.pid };
    const lock = services.store.locks.tryAcquire({ app: app.name, ...owner }, isProcessAlive);
    if (lock) continue;
    try {
      await destroyApp(serverOp(services), app.name);
    } finally {
      services.store.locks.release(app.name, process.pid);
    }
    services.store.events.record({
      app: app.name,
      user: 'skiff',
      source: 'server',
      action: 'apps:destroy',
      detail: { review: true, branch: app.reviewOf.branch, idleDays: services.config.reviewAppsTtlDays },
      outcome: 'ok',
    });
    syncAllRefs(services, app.reviewOf.parent);
    services.log.info({ app: app.name, parent: app.reviewOf.parent }, 'review app expired');
    expired.push(app.name);
  }
  return expired;
}

/**
 * apps:set APP node NAME|any (admins): the swarm node an app's tasks run on,
 * for an app that must stay on one host (its volume's, say). A running app's
 * tasks move there as a rolling update, new ones first; 'any' lets swarm
 * spread them again from the next rollout.
 */
export async function setAppNode(op: Op, appName: string, value: string): Promise<{ app: App; node: string | null; now: boolean }> {
  const { services, caller } = op;
  assertAdmin(caller, 'apps:set APP node');
  const app = getApp(services, caller, appName);
  const runtime = services.runtime.for(app.name);
  if (runtime.name !== 'swarm')
    throw new InvalidError(
      `${app.name} runs on ${runtime.name}, on this host alone: placing it on a node is the swarm runtime's (apps:set ${app.name} runtime swarm)`,
    );
  const node = value === 'any' ? null : value;
  const nodes = await runtime.nodes();
  if (node !== null && !nodes.some((n) => n.hostname === node)) throw new InvalidError(`no node '${node}' in this swarm; nodes lists them`);
  const self = await runtime.thisNode();
  if (node !== null && node !== self && services.store.mounts.list(app.name).length) throw new InvalidError(STORAGE_STAYS(app.name, self ?? ''));
  const previous = app.node;
  const stopped = await applyToRelease(
    op,
    app.name,
    'node placement',
    'all',
    () => services.store.apps.setNode(app.name, node),
    () => services.store.apps.setNode(app.name, previous),
  );
  return { app, node, now: stopped !== undefined };
}

/**
 * apps:set APP runtime NAME ('default': SKIFF_RUNTIME). A running app moves
 * without downtime: the new runtime's instances start and take the traffic,
 * then the old runtime's go. Says when the move happens.
 */
export async function setAppRuntime(
  op: Op,
  appName: string,
  value: string,
): Promise<{ app: App; runtime: string; when: 'already' | 'next-deploy' | 'now'; version?: number }> {
  const { services, caller } = op;
  const app = getApp(services, caller, appName, { owner: true });
  const target = value === 'default' ? null : parseRuntimeName(value);
  const effective = target ?? parseRuntimeName(services.config.runtime);
  const runtime = services.runtime.named(effective);
  const problem = await runtime.unavailable();
  if (problem) throw new InvalidError(`cannot run ${app.name} on ${effective}: ${problem}`);
  if (effective === 'swarm' && services.store.mounts.list(app.name).some((m) => m.singleWriter)) throw new InvalidError(SINGLE_WRITER_ON_SWARM(app.name));
  const before = services.runtime.for(app.name);
  if (before === runtime) {
    services.store.apps.setRuntime(app.name, target);
    return { app, runtime: effective, when: 'already' };
  }
  return withOpLock(op, app.name, 'runtime change', async () => {
    // As it is now that the lock is ours: a deploy may have finished meanwhile.
    const locked = getApp(services, caller, app.name, { owner: true });
    const current = services.store.releases.current(app.name);
    const previous = locked.runtime;
    services.store.apps.setRuntime(app.name, target);
    if (!current || locked.stopped) return { app, runtime: effective, when: 'next-deploy' as const };
    try {
      await converge(services, current, { replace: 'all', progress: op.progress, signal: op.signal });
    } catch (err) {
      services.store.apps.setRuntime(app.name, previous);
      throw err;
    }
    await before.destroy(app.name);
    return { app, runtime: effective, when: 'now' as const, version: current.version };
  });
}
