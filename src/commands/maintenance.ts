import { maintenanceOff, maintenanceOn } from '../operations/maintenance.js';
import { STEP } from '../output/progress.js';
import type { CommandSpec } from './command.js';

export const maintenanceCommands: CommandSpec[] = [
  {
    name: 'maintenance:on',
    usage: 'APP [--message TEXT] [--allow-path PREFIX...]',
    summary: 'Answer every request with 503 and Retry-After (a page, JSON or text) but those under --allow-path; kept across deploys and restarts',
    audit: ({ positionals, values }) => ({
      app: positionals[0] ?? null,
      detail: { allowPaths: values['allow-path'] ?? [], message: values.message !== undefined },
    }),
    async run({ positionals, values, io, services, caller }) {
      const allow = values['allow-path'];
      const { app, maintenance } = await maintenanceOn({ services, caller }, positionals[0], {
        message: values.message === undefined ? undefined : String(values.message),
        allowPaths: Array.isArray(allow) ? allow : allow === undefined ? [] : [String(allow)],
      });
      const open = maintenance.allowPaths.length ? `; ${maintenance.allowPaths.join(', ')} still served` : '';
      io.stdout.write(`${STEP}${app.name} is in maintenance: requests get 503${open}. maintenance:off ${app.name} ends it\n`);
    },
  },
  {
    name: 'maintenance:off',
    usage: 'APP',
    summary: 'Serve the app again',
    audit: ({ positionals }) => ({ app: positionals[0] ?? null, detail: {} }),
    async run({ positionals, io, services, caller }) {
      const app = await maintenanceOff({ services, caller }, positionals[0]);
      io.stdout.write(`${STEP}${app.name} is served again\n`);
    },
  },
];
