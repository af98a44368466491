import { parseUserName } from '../domain/user-name.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { getApp } from '../pipeline/policy.js';
import type { Op } from './operation.js';

type Ask = Pick<Op, 'services' | 'caller'>;

/** access:add: the owner (or an admin) shares the app with a user who has a key. */
export function grantAccess({ services, caller }: Ask, appName: string, userName: string): { app: string; user: string } {
  const app = getApp(services, caller, appName, { owner: true });
  const user = parseUserName(userName);
  if (!services.store.keys.hasUser(user)) throw new NotFoundError(`no user '${user}'; an admin adds one with keys:add ${user}`);
  if (user === app.createdBy) throw new ConflictError(`${user} owns ${app.name} already`);
  if (!services.store.access.grant(app.name, user, caller.user)) throw new ConflictError(`${user} has access to ${app.name} already`);
  return { app: app.name, user };
}

/** access:remove */
export function revokeAccess({ services, caller }: Ask, appName: string, userName: string): { app: string; user: string } {
  const app = getApp(services, caller, appName, { owner: true });
  const user = parseUserName(userName);
  if (!services.store.access.revoke(app.name, user)) throw new NotFoundError(`${user} has no access to ${app.name}; access ${app.name} lists who has`);
  return { app: app.name, user };
}
