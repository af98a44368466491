import type { AppStack } from '../builder/builder.js';
import { BUILTIN_STACKS } from '../builder/stacks.js';
import { BuildFailedError, DeniedError, NotFoundError } from '../errors.js';
import type { App, Stack, Store } from '../store/store.js';

export function isBuiltinStack(name: string): boolean {
  return BUILTIN_STACKS.some((s) => s.name === name);
}

/**
 * A stack is usable by everyone once published; before that (or after
 * unpublishing) only by its creator, and by admins who may do anything.
 */
export function assertMayUseStack(stack: Stack, user: string, admin: boolean, doing: string): void {
  if (stack.published || admin || stack.creator === user) return;
  throw new DeniedError(`the ${stack.name} stack is unpublished: only its creator (${stack.creator}) may ${doing} until it is published again`);
}

/** Admins may use every app; a user the apps they created and those shared with them. */
export function mayUseApp(store: Store, name: string, user: string, admin: boolean): boolean {
  if (admin) return true;
  const app = store.apps.find(name);
  return app !== undefined && (app.createdBy === user || store.access.has(name, user));
}

/** An app on an unpublished stack takes pushes from the stack's creator (and admins) only. */
export function assertMayPush(store: Store, app: App, user: string, admin: boolean): void {
  const stack = app.stack === null ? undefined : store.stacks.find(app.stack);
  if (stack) assertMayUseStack(stack, user, admin, `push to ${app.name}`);
}

/** The stack an app builds with, as the builders take it; null when the app has none. */
export function resolveAppStack(store: Store, app: App): AppStack | null {
  if (app.stack === null) return null;
  if (isBuiltinStack(app.stack)) return { kind: 'builtin', name: app.stack };
  const stack = store.stacks.find(app.stack);
  if (!stack) throw new BuildFailedError(`the app's stack '${app.stack}' was removed; set another with apps:stack-update ${app.name} STACK`);
  return { kind: 'stackfile', definition: stack.definition };
}

/** A stack by name for a user who wants to use it: built-in, or a stackfile stack the user may use. */
export function findUsableStack(store: Store, name: string, user: string, admin: boolean): Stack | 'builtin' {
  if (isBuiltinStack(name)) return 'builtin';
  const stack = store.stacks.find(name);
  // An unpublished stack is not there for those who may not use it: neither it nor its creator is named.
  if (!stack || !(stack.published || admin || stack.creator === user)) throw new NotFoundError(`no stack named '${name}'; see stacks for the ones you may use`);
  return stack;
}
