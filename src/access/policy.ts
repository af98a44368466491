import type { AppStack, ImageOwner } from '../builder/builder.js';
import { BUILTIN_STACKS } from '../builder/stacks.js';
import type { Config } from '../config.js';
import { parseAppName } from '../domain/app-name.js';
import type { Caller } from '../domain/caller.js';
import { BuildFailedError, DeniedError, InvalidError, NotFoundError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { App, Stack } from '../domain/entities.js';
import type { Stage } from '../domain/pipeline.js';
import { parseServiceName, type BackingService } from '../domain/backing-service.js';

/*
 * Who may do what, for every door (SSH, HTTPS, the host) and the push hook:
 * admins may do anything; a user may use the apps they created and those
 * shared with them; owner-only acts (destroy, access, settings) need the
 * creator; a stack is usable by everyone once published, before that only by
 * its creator.
 */

export function isBuiltinStack(name: string): boolean {
  return BUILTIN_STACKS.some((s) => s.name === name);
}

/**
 * Whether the caller may use the app. A review app's users are its
 * parent's, asked live: taking a user off the parent takes them off its
 * review apps at once.
 */
export function mayUseApp(store: Store, name: string, caller: Pick<Caller, 'user' | 'admin'>): boolean {
  if (caller.admin) return true;
  const app = store.apps.find(name);
  if (app === undefined) return false;
  const holder = app.reviewOf ? store.apps.find(app.reviewOf.parent) : app;
  return holder !== undefined && (holder.createdBy === caller.user || store.access.has(holder.name, caller.user));
}

/**
 * Whether the caller may build on an image of an app: the app must be one
 * they may use, and the image must be that very app's — its identity label
 * the app's id, or, for an image made before identities, made after the
 * app was. An image of a destroyed app is nobody's to build on.
 */
export function mayUseImageOf(store: Store, owner: ImageOwner, caller: Pick<Caller, 'user' | 'admin'>): boolean {
  if (caller.admin) return true;
  const app = store.apps.find(owner.app);
  if (!app || !mayUseApp(store, app.name, caller)) return false;
  if (owner.appId !== undefined) return owner.appId === app.id;
  if (owner.created !== undefined) return Date.parse(owner.created) >= Date.parse(app.createdAt);
  return true;
}

/**
 * The app, if the caller may use it. A user who may not gets `access denied`
 * whether or not the app exists, so nothing is learned about other apps.
 * With owner, only the owner or an admin passes.
 */
export function getApp(deps: { store: Store }, caller: Pick<Caller, 'user' | 'admin'>, name: string | undefined, options: { owner?: boolean } = {}): App {
  const app = deps.store.apps.find(parseAppName(name));
  if (!caller.admin) {
    if (!app || !mayUseApp(deps.store, app.name, caller)) throw new DeniedError();
    if (options.owner && app.createdBy !== caller.user)
      throw new DeniedError(`access denied: only the owner of ${app.name} (${app.createdBy}) or an admin may do that`);
  }
  if (!app) throw new NotFoundError(`app '${name}' not found; create it with apps:create ${name}, or push to it`);
  return app;
}

/** Plain users create apps unless SKIFF_USERS_CAN_CREATE is off. */
export function assertMayCreate(config: Pick<Config, 'usersCanCreate'>, caller: Pick<Caller, 'admin'>): void {
  if (!caller.admin && !config.usersCanCreate) throw new DeniedError('access denied: only admins may create apps here');
}

/** Commands for admins only. */
export function assertAdmin(caller: Pick<Caller, 'admin'>, what: string): void {
  if (!caller.admin) throw new DeniedError(`access denied: ${what} is for admins`);
}

export function assertMayUseStack(stack: Stack, caller: Pick<Caller, 'user' | 'admin'>, doing: string): void {
  if (maySeeStack(stack, caller)) return;
  throw new DeniedError(`the ${stack.name} stack is unpublished: only its creator (${stack.creator}) may ${doing} until it is published again`);
}

/** An app on an unpublished stack takes pushes from the stack's creator (and admins) only. */
export function assertMayPush(store: Store, app: App, caller: Pick<Caller, 'user' | 'admin'>): void {
  const stack = app.stack === null ? undefined : store.stacks.find(app.stack);
  if (stack) assertMayUseStack(stack, caller, `push to ${app.name}`);
}

/** A stack by name for a user who wants to use it: built-in, or a stackfile stack the user may use. */
export function getUsableStack(store: Store, name: string, caller: Pick<Caller, 'user' | 'admin'>): Stack | 'builtin' {
  if (isBuiltinStack(name)) return 'builtin';
  const stack = store.stacks.find(name);
  // An unpublished stack is not there for those who may not use it: neither it nor its creator is named.
  if (!stack || !maySeeStack(stack, caller)) throw new NotFoundError(`no stack named '${name}'; see stacks for the ones you may use`);
  return stack;
}

/** The stack an app builds with, as the builders take it; null when the app has none. */
export function resolveAppStack(store: Store, app: App): AppStack | null {
  if (app.stack === null) return null;
  if (isBuiltinStack(app.stack)) return { kind: 'builtin', name: app.stack };
  const stack = store.stacks.find(app.stack);
  if (!stack) throw new BuildFailedError(`the app's stack '${app.stack}' was removed; set another with apps:stack-update ${app.name} STACK`);
  return { kind: 'stackfile', definition: stack.definition };
}

/** Everyone sees published stacks; creators and admins see unpublished ones too. */
export function maySeeStack(stack: Stack, caller: Pick<Caller, 'user' | 'admin'>): boolean {
  return stack.published || caller.admin || stack.creator === caller.user;
}

/** A stackfile stack the caller may see, by a name already checked; built-in stacks cannot be changed. */
export function getStack(store: Store, caller: Pick<Caller, 'user' | 'admin'>, name: string): Stack {
  if (isBuiltinStack(name)) throw new InvalidError(`${name} is a built-in stack and cannot be changed; define your own with stacks:create`);
  const stack = store.stacks.find(name);
  if (!stack || !maySeeStack(stack, caller)) throw new NotFoundError(`no stack named '${name}'; see stacks for the ones you may use`);
  return stack;
}

/** Changing a stack is for its creator and admins. */
export function getOwnStack(store: Store, caller: Pick<Caller, 'user' | 'admin'>, name: string): Stack {
  const stack = getStack(store, caller, name);
  if (!caller.admin && stack.creator !== caller.user)
    throw new DeniedError(`access denied: only the creator of the ${stack.name} stack (${stack.creator}) or an admin may change it`);
  return stack;
}

/** Whether a user (by name, as a group or a pipeline records its owner) may use the app now. */
function ownerMayUse(store: Store, owner: string, app: string): boolean {
  return mayUseApp(store, app, { user: owner, admin: store.keys.isAdmin(owner) });
}

/**
 * The config groups that apply to the app: those whose owner may still use
 * it, asked live. A group of a former collaborator stops applying the moment
 * she loses access, whatever its membership still says.
 */
export function appliedGroups(store: Store, app: string): string[] {
  return store.configGroups.groupsOf(app).filter((group) => {
    const owner = store.configGroups.find(group)?.owner;
    return owner !== undefined && ownerMayUse(store, owner, app);
  });
}

/** The app's place in a pipeline, while the pipeline's owner may still use the app (asked live). */
export function pipelineOf(store: Store, app: string): { pipeline: string; stage: Stage } | undefined {
  const membership = store.pipelines.ofApp(app);
  if (!membership) return undefined;
  const owner = store.pipelines.find(membership.pipeline)?.owner;
  return owner !== undefined && ownerMayUse(store, owner, app) ? membership : undefined;
}

/** Whether the caller may use the service: its owner, a user it is shared with (asked live), or an admin. */
export function mayUseService(store: Store, service: BackingService, caller: Pick<Caller, 'user' | 'admin'>): boolean {
  return caller.admin || service.owner === caller.user || store.backingServices.users(service.id).includes(caller.user);
}

/**
 * The service, if the caller may use it; `access denied` whether or not it
 * exists for one who may not, so nothing is learned about other tenants'.
 */
export function getService(
  deps: { store: Store },
  caller: Pick<Caller, 'user' | 'admin'>,
  name: string | undefined,
  options: { owner?: boolean } = {},
): BackingService {
  const service = deps.store.backingServices.find(parseServiceName(name));
  if (!caller.admin && (!service || !mayUseService(deps.store, service, caller))) throw new DeniedError();
  if (!caller.admin && options.owner && service?.owner !== caller.user)
    throw new DeniedError(`access denied: only the owner of ${service?.name} (${service?.owner}) or an admin may do that`);
  if (!service) throw new NotFoundError(`service '${name}' not found; services lists yours`);
  return service;
}
