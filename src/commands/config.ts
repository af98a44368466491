import { parseAssignments, parseConfigKey } from '../domain/config-vars.js';
import { ConflictError, NotFoundError, UsageError } from '../errors.js';
import {
  addAppToGroup,
  changeGroupConfig,
  createGroup,
  destroyGroup,
  listGroups,
  removeAppFromGroup,
  showGroup,
  type GroupChange,
} from '../operations/config-groups.js';
import { configOf, configOrigins } from '../pipeline/app-config.js';
import { pendingKeys, setConfig, unsetConfig } from '../operations/config.js';
import { getApp } from '../access/policy.js';
import { table, writeJson } from './args.js';
import type { CommandContext, CommandSpec } from './command.js';
import { operation } from './operation-io.js';
import { releasePhaseNote } from './audit.js';
import { HEADING, STEP } from '../output/progress.js';
import { maskedUrl } from '../domain/backing-service.js';

export const configCommands: CommandSpec[] = [
  {
    name: 'config',
    aliases: ['config:show'],
    usage: 'APP [--show-origin] [--json]',
    summary:
      "Show an app's config vars (its own, its config groups' and its linked services', without their passwords); --show-origin says where each comes from",
    async run({ values, positionals, io, services, caller }) {
      const app = getApp(services, caller, positionals[0]);
      const origins = configOrigins(services.store, app.name);
      // A linked service's URL is shown without its password: config:get VAR gives it whole.
      const shown = (k: string, v: string): string => (origins[k]?.startsWith('service ') ? maskedUrl(v) : v);
      const vars = Object.fromEntries(
        Object.entries(configOf(services.store, app.name))
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => [k, shown(k, v)]),
      );
      if (values.json)
        return writeJson(
          io.stdout,
          values['show-origin'] ? Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, { value: v, origin: origins[k] }])) : vars,
        );
      io.stdout.write(`${HEADING}${app.name} config vars\n`);
      const width = Math.max(0, ...Object.keys(vars).map((k) => k.length + 1));
      for (const [key, value] of Object.entries(vars))
        io.stdout.write(`${`${key}:`.padEnd(width)}  ${value}${values['show-origin'] ? `  (${origins[key]})` : ''}\n`);
      const pending = pendingKeys(services, app.name);
      if (pending.changed.length || pending.removed.length) {
        const what = [pending.changed.length ? `set ${pending.changed.join(', ')}` : '', pending.removed.length ? `unset ${pending.removed.join(', ')}` : '']
          .filter(Boolean)
          .join('; ');
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
      const vars = configOf(services.store, app.name);
      if (!(key in vars)) throw new NotFoundError(`${app.name} has no config var ${key}`);
      io.stdout.write(`${vars[key]}\n`);
    },
  },
  {
    name: 'config:set',
    usage: '[APP] KEY=VALUE... [--group NAME] [--no-restart] [--no-release-phase]',
    summary: 'Set config vars of an app, or of a config group (--group: each of its apps gets a release, in turn); restarts without downtime',
    audit: ({ positionals, values }) =>
      values.group !== undefined
        ? { app: null, detail: { group: values.group, keys: positionals.map((w) => w.split('=')[0]), restart: values['no-restart'] !== true } }
        : {
            app: positionals[0],
            detail: { keys: positionals.slice(1).map((w) => w.split('=')[0]), restart: values['no-restart'] !== true, ...releasePhaseNote(values) },
          },
    async run(ctx) {
      const { positionals, values } = ctx;
      const options = { restart: values['no-restart'] !== true, releasePhase: values['no-release-phase'] !== true };
      if (values.group !== undefined)
        return reportGroup(
          ctx,
          String(values.group),
          await changeGroupConfig(operation(ctx), String(values.group), parseAssignments(positionals), [], options),
        );
      if (positionals.length < 2) throw new UsageError('usage: config:set APP KEY=VALUE... (or config:set --group NAME KEY=VALUE...)');
      await setConfig(operation(ctx), positionals[0], parseAssignments(positionals.slice(1)), options);
    },
  },
  {
    name: 'config:unset',
    usage: '[APP] KEY... [--group NAME] [--no-restart] [--no-release-phase]',
    summary: 'Unset config vars of an app, or of a config group (--group); restarts without downtime',
    audit: ({ positionals, values }) =>
      values.group !== undefined
        ? { app: null, detail: { group: values.group, keys: positionals, restart: values['no-restart'] !== true } }
        : { app: positionals[0], detail: { keys: positionals.slice(1), restart: values['no-restart'] !== true, ...releasePhaseNote(values) } },
    async run(ctx) {
      const { positionals, values } = ctx;
      const options = { restart: values['no-restart'] !== true, releasePhase: values['no-release-phase'] !== true };
      if (values.group !== undefined)
        return reportGroup(
          ctx,
          String(values.group),
          await changeGroupConfig(operation(ctx), String(values.group), {}, positionals.map(parseConfigKey), options),
        );
      if (positionals.length < 2) throw new UsageError('usage: config:unset APP KEY... (or config:unset --group NAME KEY...)');
      await unsetConfig(operation(ctx), positionals[0], positionals.slice(1).map(parseConfigKey), options);
    },
  },
  {
    name: 'config:groups',
    usage: '[NAME] [--json]',
    summary: 'List config groups (values several apps share); with NAME, its keys (values: its owner) and apps',
    async run({ positionals, values, io, services, caller }) {
      if (positionals[0] === undefined) {
        const groups = listGroups({ services, caller });
        if (values.json) return writeJson(io.stdout, groups);
        if (groups.length === 0) return void io.stdout.write('(no config groups: config:groups:create NAME)\n');
        io.stdout.write(table([['GROUP', 'OWNER', 'APPS'], ...groups.map((g) => [g.name, g.owner, g.apps.join(', ') || '-'])]));
        return;
      }
      const { group, vars } = showGroup({ services, caller }, positionals[0]);
      if (values.json) return writeJson(io.stdout, { ...group, vars });
      io.stdout.write(`${HEADING}config group ${group.name} (owner ${group.owner}; apps: ${group.apps.join(', ') || 'none'})\n`);
      for (const [key, value] of Object.entries(vars)) io.stdout.write(`${key}:  ${value ?? '(set)'}\n`);
    },
  },
  {
    name: 'config:groups:create',
    usage: 'NAME',
    summary: 'Create a config group: values its apps share (an app’s own value of a key wins)',
    audit: ({ positionals }) => ({ app: null, detail: { group: positionals[0] ?? null } }),
    async run({ positionals, io, services, caller }) {
      const group = createGroup({ services, caller }, positionals[0]);
      io.stdout.write(`${STEP}Created config group ${group.name}; config:set --group ${group.name} KEY=VALUE, config:groups:add ${group.name} APP\n`);
    },
  },
  {
    name: 'config:groups:add',
    usage: 'NAME APP [--no-restart]',
    summary: "Put an app in a config group (the group's owner, who may use the app); makes a release with the group's values",
    audit: ({ positionals, values }) => ({ app: positionals[1] ?? null, detail: { group: positionals[0] ?? null, restart: values['no-restart'] !== true } }),
    async run(ctx) {
      await addAppToGroup(operation(ctx), ctx.positionals[0], ctx.positionals[1], { restart: ctx.values['no-restart'] !== true });
    },
  },
  {
    name: 'config:groups:remove',
    usage: 'NAME APP [--no-restart]',
    summary: "Take an app out of a config group; makes a release without the group's values",
    audit: ({ positionals, values }) => ({ app: positionals[1] ?? null, detail: { group: positionals[0] ?? null, restart: values['no-restart'] !== true } }),
    async run(ctx) {
      await removeAppFromGroup(operation(ctx), ctx.positionals[0], ctx.positionals[1], { restart: ctx.values['no-restart'] !== true });
    },
  },
  {
    name: 'config:groups:destroy',
    usage: 'NAME',
    summary: 'Delete a config group that has no apps',
    audit: ({ positionals }) => ({ app: null, detail: { group: positionals[0] ?? null } }),
    async run({ positionals, io, services, caller }) {
      destroyGroup({ services, caller }, positionals[0]);
      io.stdout.write(`${STEP}Destroyed config group ${positionals[0]}\n`);
    },
  },
];

/** What a group change reached; a failed app makes the command fail, naming it and what is left pending. */
function reportGroup(ctx: CommandContext, group: string, change: GroupChange): void {
  if (change.done.length === 0 && !change.failed) {
    ctx.io.stdout.write(`${STEP}Changed config group ${group}; no app uses it yet (config:groups:add ${group} APP)\n`);
    return;
  }
  const released = change.done.filter((d) => d.outcome === 'released').map((d) => d.app);
  if (released.length) ctx.io.stdout.write(`${STEP}Released to ${released.join(', ')}\n`);
  if (change.failed) {
    const pending = change.pending.length ? `; not released yet (pending; ps:restart releases it): ${change.pending.join(', ')}` : '';
    throw new ConflictError(
      `the change reached ${released.join(', ') || 'no app'}; ${change.failed.app} failed and keeps its release (${change.failed.error})${pending}`,
    );
  }
}
