import { parseAssignments, parseConfigKey } from '../domain/config-vars.js';
import { NotFoundError } from '../errors.js';
import { pendingKeys, setConfig, unsetConfig } from '../operations/config.js';
import { getApp } from '../pipeline/policy.js';
import { writeJson } from './args.js';
import type { CommandSpec } from './command.js';
import { operation } from './operation-io.js';
import { releasePhaseNote } from './audit.js';
import { HEADING } from '../output/progress.js';

export const configCommands: CommandSpec[] = [
  {
    name: 'config',
    aliases: ['config:show'],
    usage: 'APP [--json]',
    summary: "Show an app's config vars",
    async run({ values, positionals, io, services, caller }) {
      const app = getApp(services, caller, positionals[0]);
      const vars = services.store.config.get(app.name);
      if (values.json) return writeJson(io.stdout, vars);
      io.stdout.write(`${HEADING}${app.name} config vars\n`);
      const width = Math.max(0, ...Object.keys(vars).map((k) => k.length + 1));
      for (const [key, value] of Object.entries(vars)) io.stdout.write(`${`${key}:`.padEnd(width)}  ${value}\n`);
      const pending = pendingKeys(services, app.name);
      if (pending.changed.length || pending.removed.length) {
        const what = [pending.changed.length ? `set ${pending.changed.join(', ')}` : '', pending.removed.length ? `unset ${pending.removed.join(', ')}` : ''].filter(Boolean).join('; ');
        io.stdout.write(`Pending (${what}): the serving release does not have this yet; ps:restart ${app.name} or the next push releases it\n`);
      }
    },
  },
  {
    name: 'config:get',
    rawOutput: true,
    usage: 'APP KEY',
    summary: 'Print one config value',
    async run({ positionals, io, services, caller }) {
      const app = getApp(services, caller, positionals[0]);
      const key = parseConfigKey(positionals[1]);
      const vars = services.store.config.get(app.name);
      if (!(key in vars)) throw new NotFoundError(`${app.name} has no config var ${key}`);
      io.stdout.write(`${vars[key]}\n`);
    },
  },
  {
    name: 'config:set',
    usage: 'APP KEY=VALUE... [--no-restart] [--no-release-phase]',
    summary: 'Set config vars; makes a release and restarts without downtime',
    audit: ({ positionals, values }) => ({
      app: positionals[0],
      detail: { keys: positionals.slice(1).map((w) => w.split('=')[0]), restart: values['no-restart'] !== true, ...releasePhaseNote(values) },
    }),
    async run(ctx) {
      const { positionals, values } = ctx;
      await setConfig(operation(ctx), positionals[0], parseAssignments(positionals.slice(1)), { restart: values['no-restart'] !== true, releasePhase: values['no-release-phase'] !== true });
    },
  },
  {
    name: 'config:unset',
    usage: 'APP KEY... [--no-restart] [--no-release-phase]',
    summary: 'Unset config vars; makes a release and restarts without downtime',
    audit: ({ positionals, values }) => ({ app: positionals[0], detail: { keys: positionals.slice(1), restart: values['no-restart'] !== true, ...releasePhaseNote(values) } }),
    async run(ctx) {
      const { positionals, values } = ctx;
      await unsetConfig(operation(ctx), positionals[0], positionals.slice(1).map(parseConfigKey), { restart: values['no-restart'] !== true, releasePhase: values['no-release-phase'] !== true });
    },
  },
];
