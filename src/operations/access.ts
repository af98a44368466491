import { endLinks } from './backing-services.js';
import { parseUserName } from '../domain/user-name.js';
import { ConflictError, InvalidError, NotFoundError } from '../errors.js';
import { getApp, mayUseApp } from '../access/policy.js';
import { syncAllRefs } from './apps.js';
import { serverOp, withOpLock, type Op, type Ask } from './operation.js';
import { releaseConfig } from './config.js';
import { endShares } from './storage.js';

/** access:add: the owner (or an admin) shares the app with a user who has a key. */
export function grantAccess({ services, caller }: Ask, appName: string, userName: string): { app: string; user: string } {
  const app = getApp(services, caller, appName, { owner: true });
  if (app.reviewOf)
    throw new InvalidError(`${app.name} is a review app: its users are ${app.reviewOf.parent}'s; access:add ${app.reviewOf.parent} ${userName}`);
  const user = parseUserName(userName);
  if (!services.store.keys.hasUser(user)) throw new NotFoundError(`no user '${user}'; an admin adds one with keys:add ${user}`);
  if (user === app.createdBy) throw new ConflictError(`${user} owns ${app.name} already`);
  if (!services.store.access.grant(app.name, user, caller.user)) throw new ConflictError(`${user} has access to ${app.name} already`);
  return { app: app.name, user };
}

/**
 * Config groups and a pipeline of a user who may no longer use the app stop
 * naming it (they stopped applying already: both are asked live), for the
 * app and its review apps. Returns what was dropped.
 */
function dropMemberships(services: Op['services'], app: string, user: string): { groups: string[]; pipeline: string | null } {
  const { store } = services;
  if (mayUseApp(store, app, { user, admin: store.keys.isAdmin(user) })) return { groups: [], pipeline: null };
  const groups = new Set<string>();
  for (const name of [app, ...store.apps.reviewAppsOf(app).map((r) => r.name)]) {
    for (const group of store.configGroups.groupsOf(name)) {
      if (store.configGroups.find(group)?.owner !== user) continue;
      store.configGroups.removeApp(group, name);
      groups.add(group);
    }
  }
  const membership = store.pipelines.ofApp(app);
  const pipeline = membership && store.pipelines.find(membership.pipeline)?.owner === user ? membership.pipeline : null;
  if (pipeline) {
    store.pipelines.removeApp(app);
    syncAllRefs(services, app);
  }
  return { groups: [...groups], pipeline };
}

/**
 * access:remove. What the user's access allowed ends with it: the volumes
 * they shared into or out of the app stop being shared (a release of the
 * app that mounts them), and their config groups and pipeline stop naming
 * it, and the services they linked to it are unlinked. Their review-app
 * rights go at once, being the parent's asked live.
 */
export async function revokeAccess(
  op: Op,
  appName: string,
  userName: string,
): Promise<{ app: string; user: string; sharesEnded: number; groups: string[]; pipeline: string | null }> {
  const { services, caller } = op;
  const app = getApp(services, caller, appName, { owner: true });
  const user = parseUserName(userName);
  if (!services.store.access.revoke(app.name, user)) throw new NotFoundError(`${user} has no access to ${app.name}; access ${app.name} lists who has`);
  const shares = services.store.mounts.sharesBy(user, app.name).map((m) => ({ app: m.app, name: m.name, from: m.from as string }));
  const left = await endShares(serverOp(services, op.progress, op.signal), shares, `${user} may no longer use ${app.name}`);
  if (left.length) services.log.warn({ app: app.name, user, shares: left }, 'shares of a former user could not be ended yet');
  const links = services.store.backingServices.links({ app: app.name }).filter((l) => l.linkedBy === user);
  await endLinks(op, links, `${user} may no longer use ${app.name}`);
  const dropped = dropMemberships(services, app.name, user);
  if (dropped.groups.length) {
    // The serving release still has the group's values (an address of hers, maybe): release without them now.
    const server = serverOp(services, op.progress, op.signal);
    const description = `Leave ${user}'s config group${dropped.groups.length === 1 ? '' : 's'} ${dropped.groups.join(', ')}`;
    await withOpLock(server, app.name, 'config change', () =>
      releaseConfig(server, app.name, description, { restart: true, releasePhase: false }, () => undefined),
    ).catch((err: unknown) =>
      services.log.warn({ err, app: app.name, user }, "the release without a former user's config groups failed; the next one leaves them out"),
    );
  }
  return { app: app.name, user, sharesEnded: shares.length - left.length, ...dropped };
}
