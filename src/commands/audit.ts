import { APP_NAME_PATTERN } from '../domain/app-name.js';
import type { AuditNote } from '../operations/audit.js';
import type { ParsedArgs } from './args.js';

export type { AuditNote };

/** The audit entry of a command that acts on the app it names first. */
export const onApp = ({ positionals }: ParsedArgs): AuditNote => ({ app: positionals[0] ?? null, detail: {} });

/** The audit entry of a command that acts on something else than an app (a stack, a key, a token). */
export const offApp =
  (detail: (args: ParsedArgs) => Record<string, unknown> = () => ({})) =>
  (args: ParsedArgs): AuditNote => ({ app: null, detail: detail(args) });

/** What the trail keeps of --no-release-phase: only that it was given (a skipped release phase is worth an audit line). */
export function releasePhaseNote(values: ParsedArgs['values']): { releasePhase?: false } {
  return values['no-release-phase'] === true ? { releasePhase: false } : {};
}

/** A command that did not even parse: under the name it gave first, with nothing else. */
export function unparsedNote(args: string[]): AuditNote {
  return { app: args.find((a) => !a.startsWith('-')) ?? null, detail: {} };
}

/** A refused read: under the app it named, where its owner sees it; else what it named, under no app. */
export function refusalNote(args: string[], isApp: (name: string) => boolean): AuditNote {
  const target = args.find((a) => !a.startsWith('-')) ?? null;
  if (target === null) return { app: null, detail: {} };
  return APP_NAME_PATTERN.test(target) && isApp(target) ? { app: target, detail: {} } : { app: null, detail: { target } };
}
