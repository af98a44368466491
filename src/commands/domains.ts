import { parseCustomDomain, parseHostName } from '../domain/host-name.js';
import { NotFoundError } from '../errors.js';
import { applyRoutes } from '../pipeline/route.js';
import { appHosts } from '../router/caddy-config.js';
import { parseCommandArgs, writeJson } from './args.js';
import { getApp } from './app-lifecycle.js';
import type { CommandSpec } from './command.js';

export const domainsCommands: CommandSpec[] = [
  {
    name: 'domains',
    aliases: ['domains:report'],
    usage: 'APP [--json]',
    summary: 'List the host names an app answers at',
    async run({ args, io, services, caller }) {
      const { positionals, values } = parseCommandArgs('domains', 'APP [--json]', args, { json: { type: 'boolean' } }, { min: 1, max: 1 });
      const app = getApp(services, caller, positionals[0]);
      const hosts = appHosts(app.name, services.config.domain, services.store.domains.list(app.name));
      if (values.json) return writeJson(io.stdout, hosts);
      io.stdout.write(`=====> ${app.name} domains\n${hosts.join('\n')}\n`);
    },
  },
  {
    name: 'domains:add',
    usage: 'APP HOST',
    summary: 'Route another host name to the app',
    async run({ args, io, services, caller }) {
      const { positionals } = parseCommandArgs('domains:add', 'APP HOST', args, {}, { min: 2, max: 2 });
      const app = getApp(services, caller, positionals[0]);
      const host = parseCustomDomain(positionals[1], app.name, services.config.domain);
      services.store.domains.add(app.name, host);
      try {
        await applyRoutes(services);
      } catch (err) {
        services.store.domains.remove(app.name, host);
        throw err;
      }
      io.stdout.write(`-----> ${host} now routes to ${app.name}\n`);
    },
  },
  {
    name: 'domains:remove',
    usage: 'APP HOST',
    summary: 'Stop routing a host name to the app',
    async run({ args, io, services, caller }) {
      const { positionals } = parseCommandArgs('domains:remove', 'APP HOST', args, {}, { min: 2, max: 2 });
      const app = getApp(services, caller, positionals[0]);
      const host = parseHostName(positionals[1]);
      if (!services.store.domains.remove(app.name, host)) throw new NotFoundError(`${host} is not a domain of ${app.name}; domains ${app.name} lists them`);
      try {
        await applyRoutes(services);
      } catch (err) {
        services.store.domains.add(app.name, host);
        throw err;
      }
      io.stdout.write(`-----> ${host} no longer routes to ${app.name}\n`);
    },
  },
];
