import { APP_NAME_PATTERN } from '../domain/app-name.js';
import { isSkiffError } from '../errors.js';
import type { Caller, Services } from './command.js';

/** What the audit trail keeps of a command: the app it touched and facts that are safe to keep (never a config value). */
export interface AuditNote {
  app: string | null;
  detail: Record<string, unknown>;
}

const first = (args: string[]): string | null => args.find((a) => !a.startsWith('-')) ?? null;
const rest = (args: string[]): string[] => args.filter((a) => !a.startsWith('-')).slice(1);
const onApp = (args: string[]): AuditNote => ({ app: first(args), detail: {} });

/** Every command that changes something, and what its event records. A test checks this list covers them. */
export const AUDITED: Record<string, (args: string[]) => AuditNote> = {
  'apps:create': (args) => ({ app: first(args), detail: args.includes('--stack') ? { stack: args[args.indexOf('--stack') + 1] ?? null } : {} }),
  'apps:destroy': onApp,
  'apps:set': (args) => ({ app: first(args), detail: { setting: args[1] ?? null, value: args[2] ?? null } }),
  'apps:stack-update': (args) => ({ app: first(args), detail: { stack: rest(args)[0] ?? null } }),
  'stacks:create': () => ({ app: null, detail: {} }),
  'stacks:update': () => ({ app: null, detail: {} }),
  'stacks:publish': (args) => ({ app: null, detail: { stack: first(args) } }),
  'stacks:unpublish': (args) => ({ app: null, detail: { stack: first(args) } }),
  'stacks:remove': (args) => ({ app: null, detail: { stack: first(args) } }),
  'config:set': (args) => ({ app: first(args), detail: { keys: rest(args).map((w) => w.split('=')[0]), restart: !args.includes('--no-restart') } }),
  'config:unset': (args) => ({ app: first(args), detail: { keys: rest(args), restart: !args.includes('--no-restart') } }),
  'ps:scale': (args) => ({ app: first(args), detail: { scale: rest(args) } }),
  'ps:restart': (args) => ({ app: first(args), detail: { type: rest(args)[0] ?? 'all' } }),
  'ps:stop': onApp,
  'ps:start': onApp,
  'resources:set': (args) => ({ app: first(args), detail: { args: args.slice(1) } }),
  rollback: (args) => ({ app: first(args), detail: { to: rest(args)[0] ?? 'previous' } }),
  'domains:add': (args) => ({ app: first(args), detail: { host: rest(args)[0] } }),
  'domains:remove': (args) => ({ app: first(args), detail: { host: rest(args)[0] } }),
  'access:add': (args) => ({ app: first(args), detail: { user: rest(args)[0] } }),
  'access:remove': (args) => ({ app: first(args), detail: { user: rest(args)[0] } }),
  'hooks:add': (args) => ({ app: first(args), detail: { url: rest(args)[0] } }),
  'hooks:remove': (args) => ({ app: first(args), detail: { id: rest(args)[0] } }),
  // Only the program: its arguments may carry secrets typed by hand.
  run: (args) => ({ app: first(args), detail: { command: (args[1] === '--' ? args[2] : args[1]) ?? null } }),
  'keys:add': (args) => ({ app: null, detail: { user: first(args), admin: args.includes('--admin') } }),
  'keys:remove': (args) => ({ app: null, detail: { user: first(args) } }),
  'tokens:create': (args) => ({ app: null, detail: { name: args[args.indexOf('--name') + 1] ?? null } }),
  'tokens:revoke': (args) => ({ app: null, detail: { id: first(args) } }),
};

/** A refused read: under the app it named, where its owner sees it; else what it named, under no app. */
export function refusalNote(args: string[], isApp: (name: string) => boolean): AuditNote {
  const target = first(args);
  if (target === null) return { app: null, detail: {} };
  return APP_NAME_PATTERN.test(target) && isApp(target) ? { app: target, detail: {} } : { app: null, detail: { target } };
}

export function outcomeOf(err: unknown): string {
  if (isSkiffError(err)) return err.code === 'DENIED' ? 'denied' : `failed: ${err.message}`;
  return 'failed: internal error';
}

export function sourceOf(caller: Caller): string {
  if (caller.via === 'host') return 'host';
  return `${caller.via} ${caller.fingerprint ?? '?'} from ${caller.address ?? '?'}`;
}

/** Records an event; the trail must never be the reason a command fails. */
export function recordEvent(services: Services, caller: Caller, action: string, note: AuditNote, outcome: string): void {
  try {
    services.store.events.record({ app: note.app, user: caller.user, source: sourceOf(caller), action, detail: note.detail, outcome });
  } catch (err) {
    services.log.error({ err, action }, 'could not record event');
  }
}
