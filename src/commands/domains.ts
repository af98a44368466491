import { addDomain, removeDomain } from '../operations/domains.js';
import { getApp } from '../access/policy.js';
import { appHosts } from '../router/caddy-config.js';
import { table, writeJson } from './args.js';
import { certificateSummary } from './certs.js';
import { certificateStates } from '../operations/certs.js';
import type { CommandSpec } from './command.js';
import { STEP, HEADING } from '../output/progress.js';

export const domainsCommands: CommandSpec[] = [
  {
    name: 'domains',
    aliases: ['domains:report'],
    usage: 'APP [--json]',
    summary: 'List the host names an app answers at',
    async run({ values, positionals, io, services, caller }) {
      const app = getApp(services, caller, positionals[0]);
      const hosts = appHosts(app.name, services.config.domain, services.store.domains.list(app.name));
      if (values.json) return writeJson(io.stdout, hosts);
      if (!services.config.tls) return void io.stdout.write(`${HEADING}${app.name} domains\n${hosts.join('\n')}\n`);
      // With HTTPS, each host's certificate too.
      const certs = certificateStates({ services, caller }, app.name);
      io.stdout.write(`${HEADING}${app.name} domains\n${table(certs.map((c) => [c.host, certificateSummary(c)]))}`);
    },
  },
  {
    name: 'domains:add',
    usage: 'APP HOST',
    summary: 'Route another host name to the app',
    audit: ({ positionals }) => ({ app: positionals[0], detail: { host: positionals[1] } }),
    async run({ positionals, io, services, caller }) {
      const { app, host } = await addDomain({ services, caller }, positionals[0], positionals[1]);
      io.stdout.write(`${STEP}${host} now routes to ${app}\n`);
    },
  },
  {
    name: 'domains:remove',
    usage: 'APP HOST',
    summary: 'Stop routing a host name to the app',
    audit: ({ positionals }) => ({ app: positionals[0], detail: { host: positionals[1] } }),
    async run({ positionals, io, services, caller }) {
      const { app, host } = await removeDomain({ services, caller }, positionals[0], positionals[1]);
      io.stdout.write(`${STEP}${host} no longer routes to ${app}\n`);
    },
  },
];
