import { parseNameLikeApp } from '../domain/app-name.js';
import { assertConfigSize, describeConfigChange } from '../domain/config-vars.js';
import { DeniedError, InvalidError, NotFoundError, userMessage } from '../errors.js';
import { configOf } from '../pipeline/app-config.js';
import { getApp, mayUseApp } from '../access/policy.js';
import type { ConfigGroup } from '../domain/entities.js';
import { releaseConfig, type ConfigOptions, type ConfigOutcome } from './config.js';
import { withOpLock, type Op, type Ask } from './operation.js';

function parseGroupName(input: string | undefined): string {
  return parseNameLikeApp(input, 'config group');
}

/** A group shows to its owner, admins and users of its apps; to anyone else it does not exist. */
function maySee({ services, caller }: Ask, group: ConfigGroup): boolean {
  return caller.admin || group.owner === caller.user || group.apps.some((a) => mayUseApp(services.store, a, caller));
}

function getGroup(ask: Ask, input: string | undefined): ConfigGroup {
  const name = parseGroupName(input);
  const group = ask.services.store.configGroups.find(name);
  if (!group || !maySee(ask, group)) throw new NotFoundError(`no config group ${name}; create it with config:groups:create ${name}`);
  return group;
}

/** Who changes a group: its owner and admins. */
function ownGroup(ask: Ask, input: string | undefined): ConfigGroup {
  const group = getGroup(ask, input);
  if (!ask.caller.admin && group.owner !== ask.caller.user)
    throw new DeniedError(`access denied: only the owner of config group ${group.name} (${group.owner}) or an admin may do that`);
  return group;
}

export function createGroup(ask: Ask, name: string): ConfigGroup {
  return ask.services.store.configGroups.create(parseGroupName(name), ask.caller.user);
}

export function listGroups(ask: Ask): ConfigGroup[] {
  return ask.services.store.configGroups.list().filter((g) => maySee(ask, g));
}

/** A group and its values: the values only to its owner and admins (others see the keys). */
export function showGroup(ask: Ask, name: string): { group: ConfigGroup; vars: Record<string, string | null> } {
  const group = getGroup(ask, name);
  const vars = ask.services.store.configGroups.vars(group.name);
  const mayRead = ask.caller.admin || group.owner === ask.caller.user;
  return { group, vars: mayRead ? vars : Object.fromEntries(Object.keys(vars).map((k) => [k, null])) };
}

export function destroyGroup(ask: Ask, name: string): void {
  const group = ownGroup(ask, name);
  if (group.apps.length) throw new InvalidError(`config group ${group.name} still has ${group.apps.join(', ')}; config:groups:remove ${group.name} APP first`);
  ask.services.store.configGroups.remove(group.name);
}

/** config:groups:add NAME APP: the group's owner, who may use the app; the app gets a release with the group's values. */
export async function addAppToGroup(op: Op, name: string, appName: string, options: ConfigOptions): Promise<ConfigOutcome> {
  const group = ownGroup(op, name);
  const app = getApp(op.services, op.caller, appName);
  if (group.apps.includes(app.name)) throw new InvalidError(`${app.name} is in config group ${group.name} already`);
  const { configGroups } = op.services.store;
  return withOpLock(op, app.name, 'config change', async () => {
    assertConfigSize({ ...configOf(op.services.store, app.name), ...configGroups.vars(group.name) });
    configGroups.addApp(group.name, app.name);
    return releaseConfig(op, app.name, `Join config group ${group.name}`, options, () => configGroups.removeApp(group.name, app.name));
  });
}

/** config:groups:remove NAME APP: the group's owner, the app's owner, or an admin; the app gets a release without the group's values. */
export async function removeAppFromGroup(op: Op, name: string, appName: string, options: ConfigOptions): Promise<ConfigOutcome> {
  const group = getGroup(op, name);
  const app = getApp(op.services, op.caller, appName);
  if (!op.caller.admin && group.owner !== op.caller.user && app.createdBy !== op.caller.user) {
    throw new DeniedError(`access denied: only the owner of config group ${group.name} or of ${app.name}, or an admin, may do that`);
  }
  if (!group.apps.includes(app.name)) throw new NotFoundError(`${app.name} is not in config group ${group.name}`);
  const { configGroups } = op.services.store;
  return withOpLock(op, app.name, 'config change', async () => {
    configGroups.removeApp(group.name, app.name);
    return releaseConfig(op, app.name, `Leave config group ${group.name}`, options, () => configGroups.addApp(group.name, app.name));
  });
}

export interface GroupChange {
  /** Apps that got the change as a release (or will with their first deploy, or next release with --no-restart). */
  done: { app: string; outcome: ConfigOutcome }[];
  /** The app whose release failed: it keeps the one it had. */
  failed?: { app: string; error: string };
  /** Apps after it, not released: the change is pending there. */
  pending: string[];
}

/**
 * config:set --group / config:unset --group: the group's values change (its
 * owner or an admin, who may use each of its apps), then each app gets them
 * as a release, one after another, stopping at the first that fails; that
 * one keeps its release, and the ones after it have the change pending
 * (config shows it; ps:restart releases it).
 */
export async function changeGroupConfig(
  op: Op,
  name: string,
  set: Record<string, string>,
  unset: readonly string[],
  options: ConfigOptions,
): Promise<GroupChange> {
  const group = ownGroup(op, name);
  const { store } = op.services;
  const denied = group.apps.filter((a) => !mayUseApp(store, a, op.caller));
  if (denied.length) throw new DeniedError(`access denied: config group ${group.name} has apps you may not change (${denied.join(', ')})`);
  const vars = store.configGroups.vars(group.name);
  const missing = unset.filter((k) => !(k in vars));
  if (missing.length) throw new NotFoundError(`config group ${group.name} has no config var ${missing.join(', ')}`);
  const after = { ...vars, ...set };
  for (const key of unset) delete after[key];
  for (const app of group.apps) assertConfigSize({ ...configOf(store, app), ...after });
  store.configGroups.update(group.name, set, unset);
  const keys = unset.length ? [...unset] : Object.keys(set);
  const description = `${describeConfigChange(unset.length ? 'Unset' : 'Set', keys)} (config group ${group.name})`;
  const result: GroupChange = { done: [], pending: [] };
  for (const [i, app] of group.apps.entries()) {
    try {
      const outcome = await withOpLock(op, app, 'config change', () => releaseConfig(op, app, description, options, () => {}));
      result.done.push({ app, outcome });
    } catch (err) {
      op.progress.warn(`${app} keeps its release: ${userMessage(err)}`);
      result.failed = { app, error: userMessage(err) };
      result.pending = group.apps.slice(i + 1);
      break;
    }
  }
  return result;
}
