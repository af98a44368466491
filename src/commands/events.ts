import { parseAppName } from '../domain/app-name.js';
import { InvalidError, DeniedError } from '../errors.js';
import type { AuditEvent } from '../domain/entities.js';
import { writeJson } from './args.js';
import { getApp } from '../access/policy.js';
import type { CommandSpec } from './command.js';
import { oneLine } from './safe-output.js';
import { HEADING } from '../output/progress.js';

function describe(e: AuditEvent): string {
  const facts = Object.entries(e.detail)
    .map(([k, v]) => `${k}=${oneLine(Array.isArray(v) ? v.join(',') : String(v))}`)
    .join(' ');
  // Details and outcomes carry what a user typed: one event is one line, whatever they typed.
  return `${e.time}  ${e.user}  ${e.action}${e.app ? ` ${e.app}` : ''}${facts ? `  ${facts}` : ''}  ${oneLine(e.outcome)}  (${e.source})\n`;
}

export const eventsCommands: CommandSpec[] = [
  {
    name: 'events',
    usage: '[APP] [-n N] [--json]',
    summary: "The audit trail, newest first: an app's (with APP) or the whole server's (admins)",
    async run({ values, positionals, io, services, caller }) {
      const limit = values.n === undefined ? 100 : Number(values.n);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new InvalidError('-n takes a whole number from 1 to 10000');
      let app: string | undefined;
      let appId: string | undefined;
      if (positionals[0] !== undefined) {
        // The trail outlives the app: an admin may read a destroyed app's. A user sees this app's
        // own life only, by its identity: not that of an earlier app of the same name (another owner's, maybe).
        if (caller.admin) app = parseAppName(positionals[0]);
        else ({ name: app, id: appId } = getApp(services, caller, positionals[0]));
      } else if (!caller.admin) {
        throw new DeniedError('access denied: the whole trail is for admins; give an app');
      }
      const events = services.store.events.list(appId === undefined ? { app, limit } : { appId, limit });
      if (values.json) return writeJson(io.stdout, events);
      io.stdout.write(`${HEADING}${app ? `${app} events` : 'Events'}\n`);
      for (const e of events) io.stdout.write(describe(e));
    },
  },
];
