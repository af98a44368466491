import { parseUserName } from '../domain/user-name.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { parseCommandArgs, writeJson } from './args.js';
import { getApp } from './app-lifecycle.js';
import type { CommandSpec } from './command.js';

export const accessCommands: CommandSpec[] = [
  {
    name: 'access',
    aliases: ['access:list'],
    usage: 'APP [--json]',
    summary: 'List who may use an app: its owner and the users it is shared with',
    async run({ args, io, services, caller }) {
      const { positionals, values } = parseCommandArgs('access', 'APP [--json]', args, { json: { type: 'boolean' } }, { min: 1, max: 1 });
      const app = getApp(services, caller, positionals[0]);
      const users = services.store.access.list(app.name);
      if (values.json) return writeJson(io.stdout, { owner: app.createdBy, users });
      io.stdout.write(`=====> ${app.name} access\n${app.createdBy} (owner)\n${users.map((u) => `${u}\n`).join('')}`);
    },
  },
  {
    name: 'access:add',
    usage: 'APP USER',
    summary: 'Let a user push to and manage an app (owner or admin)',
    async run({ args, io, services, caller }) {
      const { positionals } = parseCommandArgs('access:add', 'APP USER', args, {}, { min: 2, max: 2 });
      const app = getApp(services, caller, positionals[0], { owner: true });
      const user = parseUserName(positionals[1]);
      if (!services.store.keys.hasUser(user)) throw new NotFoundError(`no user '${user}'; an admin adds one with keys:add ${user}`);
      if (user === app.createdBy) throw new ConflictError(`${user} owns ${app.name} already`);
      if (!services.store.access.grant(app.name, user, caller.user)) throw new ConflictError(`${user} has access to ${app.name} already`);
      io.stdout.write(`-----> ${user} may now use ${app.name}\n`);
    },
  },
  {
    name: 'access:remove',
    usage: 'APP USER',
    summary: "Take a user's access to an app away (owner or admin)",
    async run({ args, io, services, caller }) {
      const { positionals } = parseCommandArgs('access:remove', 'APP USER', args, {}, { min: 2, max: 2 });
      const app = getApp(services, caller, positionals[0], { owner: true });
      const user = parseUserName(positionals[1]);
      if (!services.store.access.revoke(app.name, user)) throw new NotFoundError(`${user} has no access to ${app.name}; access ${app.name} lists who has`);
      io.stdout.write(`-----> ${user} may no longer use ${app.name}\n`);
    },
  },
  {
    name: 'whoami',
    usage: '',
    summary: 'Say who you are to Skiff: user, role, key',
    async run({ io, caller }) {
      const role = caller.admin ? 'admin' : 'user';
      const how = caller.via === 'host' ? 'on the host' : `key ${caller.fingerprint} from ${caller.address}`;
      io.stdout.write(`${caller.user} (${role}, ${how})\n`);
    },
  },
];
