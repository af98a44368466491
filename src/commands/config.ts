import { assertConfigSize, describeConfigChange, parseAssignments, parseConfigKey } from '../domain/config-vars.js';
import { NotFoundError } from '../errors.js';
import { Progress } from '../output/progress.js';
import { rollout } from '../pipeline/rollout.js';
import { parseCommandArgs, writeJson } from './args.js';
import { getApp, withCommandLock } from './app-lifecycle.js';
import type { CommandContext, CommandSpec } from './command.js';

/**
 * Records the change, then — unless told not to — makes a release of the
 * current image with the new config and rolls it out. Under the app's lock;
 * if the new release does not come up, the config change is undone.
 */
async function changeConfig(ctx: CommandContext, app: string, set: Record<string, string>, unset: string[], restart: boolean): Promise<void> {
  const { services, io, caller } = ctx;
  const verb = unset.length ? 'Unset' : 'Set';
  const keys = unset.length ? unset : Object.keys(set);
  await withCommandLock(ctx, app, 'config change', async () => {
    const before = services.store.config.get(app);
    const after = { ...before, ...set };
    for (const key of unset) delete after[key];
    assertConfigSize(after);
    services.store.config.update(app, set, unset);
    services.log.info({ app, keys, user: caller.user }, `config ${verb.toLowerCase()}`);
    const current = getApp(services, caller, app).currentRelease;
    const running = current === null ? undefined : services.store.releases.find(app, current);
    if (!running) {
      io.stdout.write(`-----> ${describeConfigChange(verb, keys)} (takes effect with the first deploy)\n`);
      return;
    }
    if (!restart) {
      io.stdout.write(`-----> ${describeConfigChange(verb, keys)} (takes effect with the next release)\n`);
      return;
    }
    io.stdout.write(`-----> ${describeConfigChange(verb, keys)} and restarting ${app}\n`);
    try {
      await rollout(
        services,
        {
          app,
          image: running.image,
          commit: running.commit,
          buildId: running.buildId,
          pusher: caller.user,
          description: describeConfigChange(verb, keys),
          config: after,
          processes: running.processes,
          healthcheck: running.healthcheck,
          port: running.port,
          dropSourceTag: false,
        },
        new Progress([io.stdout]),
        io.signal,
      );
    } catch (err) {
      // The running release still has the old config: so must the record.
      const restore = Object.fromEntries(Object.entries(before).filter(([k]) => keys.includes(k)));
      services.store.config.update(app, restore, keys.filter((k) => !(k in before)));
      throw err;
    }
  });
}

export const configCommands: CommandSpec[] = [
  {
    name: 'config',
    aliases: ['config:show'],
    usage: 'APP [--json]',
    summary: "Show an app's config vars",
    async run({ args, io, services, caller }) {
      const { positionals, values } = parseCommandArgs('config', 'APP [--json]', args, { json: { type: 'boolean' } }, { min: 1, max: 1 });
      const app = getApp(services, caller, positionals[0]);
      const vars = services.store.config.get(app.name);
      if (values.json) return writeJson(io.stdout, vars);
      io.stdout.write(`=====> ${app.name} config vars\n`);
      const width = Math.max(0, ...Object.keys(vars).map((k) => k.length + 1));
      for (const [key, value] of Object.entries(vars)) io.stdout.write(`${`${key}:`.padEnd(width)}  ${value}\n`);
    },
  },
  {
    name: 'config:get',
    rawOutput: true,
    usage: 'APP KEY',
    summary: 'Print one config value',
    async run({ args, io, services, caller }) {
      const { positionals } = parseCommandArgs('config:get', 'APP KEY', args, {}, { min: 2, max: 2 });
      const app = getApp(services, caller, positionals[0]);
      const key = parseConfigKey(positionals[1]);
      const vars = services.store.config.get(app.name);
      if (!(key in vars)) throw new NotFoundError(`${app.name} has no config var ${key}`);
      io.stdout.write(`${vars[key]}\n`);
    },
  },
  {
    name: 'config:set',
    usage: 'APP KEY=VALUE... [--no-restart]',
    summary: 'Set config vars; makes a release and restarts without downtime',
    async run(ctx) {
      const { positionals, values } = parseCommandArgs('config:set', 'APP KEY=VALUE... [--no-restart]', ctx.args, { 'no-restart': { type: 'boolean' } }, { min: 2, max: 1000 });
      const app = getApp(ctx.services, ctx.caller, positionals[0]);
      await changeConfig(ctx, app.name, parseAssignments(positionals.slice(1)), [], values['no-restart'] !== true);
    },
  },
  {
    name: 'config:unset',
    usage: 'APP KEY... [--no-restart]',
    summary: 'Unset config vars; makes a release and restarts without downtime',
    async run(ctx) {
      const { positionals, values } = parseCommandArgs('config:unset', 'APP KEY... [--no-restart]', ctx.args, { 'no-restart': { type: 'boolean' } }, { min: 2, max: 1000 });
      const app = getApp(ctx.services, ctx.caller, positionals[0]);
      const keys = [...new Set(positionals.slice(1).map(parseConfigKey))];
      const vars = ctx.services.store.config.get(app.name);
      const missing = keys.filter((k) => !(k in vars));
      if (missing.length) throw new NotFoundError(`${app.name} has no config var ${missing.join(', ')}`);
      await changeConfig(ctx, app.name, {}, keys, values['no-restart'] !== true);
    },
  },
];
