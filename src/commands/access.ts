import { grantAccess, revokeAccess } from '../operations/access.js';
import { getApp } from '../access/policy.js';
import { writeJson } from './args.js';
import { operation } from './operation-io.js';
import type { CommandSpec } from './command.js';
import { STEP, HEADING } from '../output/progress.js';

export const accessCommands: CommandSpec[] = [
  {
    name: 'access',
    aliases: ['access:list'],
    usage: 'APP [--json]',
    summary: 'List who may use an app: its owner and the users it is shared with',
    async run({ values, positionals, io, services, caller }) {
      const app = getApp(services, caller, positionals[0]);
      // A review app's users are its parent's.
      const users = services.store.access.list(app.reviewOf?.parent ?? app.name);
      if (values.json) return writeJson(io.stdout, { owner: app.createdBy, users });
      io.stdout.write(`${HEADING}${app.name} access\n${app.createdBy} (owner)\n${users.map((u) => `${u}\n`).join('')}`);
    },
  },
  {
    name: 'access:add',
    usage: 'APP USER',
    summary: 'Let a user push to and manage an app (owner or admin)',
    audit: ({ positionals }) => ({ app: positionals[0], detail: { user: positionals[1] } }),
    async run({ positionals, io, services, caller }) {
      const { app, user } = grantAccess({ services, caller }, positionals[0], positionals[1]);
      io.stdout.write(`${STEP}${user} may now use ${app}\n`);
    },
  },
  {
    name: 'access:remove',
    usage: 'APP USER',
    summary: "Take a user's access to an app away (owner or admin)",
    audit: ({ positionals }) => ({ app: positionals[0], detail: { user: positionals[1] } }),
    async run(ctx) {
      const { positionals, io } = ctx;
      const { app, user, sharesEnded, groups, pipeline } = await revokeAccess(operation(ctx), positionals[0], positionals[1]);
      io.stdout.write(
        `${STEP}${user} may no longer use ${app}${sharesEnded ? `; ${sharesEnded} share${sharesEnded === 1 ? '' : 's'} of storage they made ended` : ''}\n`,
      );
      for (const group of groups) io.stdout.write(`${STEP}${user}'s config group ${group} no longer applies to ${app}\n`);
      if (pipeline) io.stdout.write(`${STEP}${app} left ${user}'s pipeline ${pipeline}\n`);
    },
  },
  {
    name: 'whoami',
    usage: '',
    raw: true,
    summary: 'Say who you are to Skiff: user, role, key',
    async run({ io, caller }) {
      const role = caller.admin ? 'admin' : 'user';
      const how = caller.via === 'host' ? 'on the host' : `key ${caller.fingerprint} from ${caller.address}`;
      io.stdout.write(`${caller.user} (${role}, ${how})\n`);
    },
  },
];
