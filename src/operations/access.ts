import { parseUserName } from '../domain/user-name.js';
import { ConflictError, InvalidError, NotFoundError } from '../errors.js';
import { getApp } from '../pipeline/policy.js';
import { serverOp, type Op } from './operation.js';
import { endShares } from './storage.js';

type Ask = Pick<Op, 'services' | 'caller'>;

/** access:add: the owner (or an admin) shares the app with a user who has a key. */
export function grantAccess({ services, caller }: Ask, appName: string, userName: string): { app: string; user: string } {
  const app = getApp(services, caller, appName, { owner: true });
  if (app.reviewOf) throw new InvalidError(`${app.name} is a review app: its users are ${app.reviewOf.parent}'s; access:add ${app.reviewOf.parent} ${userName}`);
  const user = parseUserName(userName);
  if (!services.store.keys.hasUser(user)) throw new NotFoundError(`no user '${user}'; an admin adds one with keys:add ${user}`);
  if (user === app.createdBy) throw new ConflictError(`${user} owns ${app.name} already`);
  if (!services.store.access.grant(app.name, user, caller.user)) throw new ConflictError(`${user} has access to ${app.name} already`);
  return { app: app.name, user };
}

/**
 * access:remove. What the user's access allowed ends with it: the volumes
 * they shared into or out of the app stop being shared (a release of the
 * app that mounts them). Their review-app rights go at once, being the
 * parent's asked live.
 */
export async function revokeAccess(op: Op, appName: string, userName: string): Promise<{ app: string; user: string; sharesEnded: number }> {
  const { services, caller } = op;
  const app = getApp(services, caller, appName, { owner: true });
  const user = parseUserName(userName);
  if (!services.store.access.revoke(app.name, user)) throw new NotFoundError(`${user} has no access to ${app.name}; access ${app.name} lists who has`);
  const shares = services.store.mounts.sharesBy(user, app.name).map((m) => ({ app: m.app, name: m.name, from: m.from as string }));
  const left = await endShares(serverOp(services, op.progress, op.signal), shares, `${user} may no longer use ${app.name}`);
  if (left.length) services.log.warn({ app: app.name, user, shares: left }, 'shares of a former user could not be ended yet');
  return { app: app.name, user, sharesEnded: shares.length - left.length };
}
