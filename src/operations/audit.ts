import type { Caller } from '../domain/caller.js';
import { isSkiffError } from '../errors.js';
import type { Services } from './operation.js';

/** What the audit trail keeps of an act: the app it touched and facts that are safe to keep (never a config value). */
export interface AuditNote {
  app: string | null;
  detail: Record<string, unknown>;
}

export function outcomeOf(err: unknown): string {
  if (isSkiffError(err)) return err.code === 'DENIED' ? 'denied' : `failed: ${err.message}`;
  return 'failed: internal error';
}

export function sourceOf(caller: Caller): string {
  if (caller.via === 'host') return 'host';
  return `${caller.via} ${caller.fingerprint ?? '?'} from ${caller.address ?? '?'}`;
}

/** Records an event; the trail must never be the reason an act fails. */
export function recordEvent(services: Pick<Services, 'store' | 'log'>, caller: Caller, action: string, note: AuditNote, outcome: string): void {
  try {
    services.store.events.record({ app: note.app, user: caller.user, source: sourceOf(caller), action, detail: note.detail, outcome });
  } catch (err) {
    services.log.error({ err, action }, 'could not record event');
  }
}
