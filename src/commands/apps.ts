import { InvalidError, UsageError } from '../errors.js';
import { converge } from '../pipeline/converge.js';
import { Progress } from '../output/progress.js';
import { parseRuntimeName } from '../runtime/runtimes.js';
import { appUrl } from '../pipeline/route.js';
import { parseCommandArgs, table, writeJson } from './args.js';
import { createApp, destroyApp, getApp, gitRemote, mayUse, withCommandLock } from './app-lifecycle.js';
import type { CommandSpec, Services } from './command.js';
import { findUsableStack } from '../pipeline/app-stack.js';
import type { StackDefinition } from '../domain/stackfile.js';

/** A stack's service says how its apps run: web instances and their limits, as ps:scale and resources:set would set them. */
function applyStackFormation(services: Services, app: string, stack: StackDefinition): void {
  const { instances, memoryMb, cpus } = stack.service;
  services.store.formation.setQuantities(app, { web: instances });
  if (memoryMb !== null || cpus !== null) {
    services.store.formation.setResources(app, 'web', { memory: memoryMb === null ? null : memoryMb * 1024 * 1024, cpus });
  }
}

const json = { json: { type: 'boolean' } } as const;

export const appsCommands: CommandSpec[] = [
  {
    name: 'apps:list',
    aliases: ['apps'],
    usage: '[--json]',
    summary: 'List apps',
    async run({ args, io, services, caller }) {
      const { values } = parseCommandArgs('apps:list', '[--json]', args, json, { min: 0, max: 0 });
      const apps = services.store.apps.list().filter((app) => mayUse(services, caller, app));
      if (values.json) return writeJson(io.stdout, apps);
      io.stdout.write('=====> Apps\n');
      for (const app of apps) io.stdout.write(`${app.name}\n`);
    },
  },
  {
    name: 'apps:create',
    usage: 'NAME [--stack STACK]',
    summary: 'Create an app, optionally set to build with a stack (a push to a new name creates it too)',
    async run(ctx) {
      const { positionals, values } = parseCommandArgs('apps:create', 'NAME [--stack STACK]', ctx.args, { stack: { type: 'string' } }, { min: 1, max: 1 });
      const stackName = values.stack as string | undefined;
      const stack = stackName === undefined ? undefined : findUsableStack(ctx.services.store, stackName, ctx.caller.user, ctx.caller.admin);
      const app = await createApp(ctx.services, positionals[0], ctx.caller, stackName ?? null);
      if (stack && stack !== 'builtin') applyStackFormation(ctx.services, app.name, stack.definition);
      ctx.io.stdout.write(`-----> Created ${app.name}${stackName ? ` with the ${stackName} stack` : ''}\n       git remote add paas ${gitRemote(ctx.services, app.name)}\n`);
      if (stack && stack !== 'builtin' && stack.definition.template) {
        ctx.io.stdout.write(`       Start from the stack's template: git clone ${stack.definition.template.uri}\n`);
      }
    },
  },
  {
    name: 'apps:set',
    usage: 'APP runtime NAME',
    summary: "Run the app on another runtime (docker, systemd, swarm; 'default': SKIFF_RUNTIME), moving it without downtime",
    async run({ args, io, services, caller }) {
      const { positionals } = parseCommandArgs('apps:set', 'APP runtime NAME', args, {}, { min: 3, max: 3 });
      const [appName, key, value] = positionals;
      if (key !== 'runtime') throw new UsageError(`unknown setting '${key}'; apps:set APP runtime NAME is the one there is`);
      const app = getApp(services, caller, appName, { owner: true });
      const target = value === 'default' ? null : parseRuntimeName(value);
      const effective = target ?? parseRuntimeName(services.config.runtime);
      const runtime = services.runtime.named(effective);
      const problem = await runtime.unavailable?.();
      if (problem) throw new InvalidError(`cannot run ${app.name} on ${effective}: ${problem}`);
      const before = services.runtime.for(app.name);
      if (before === runtime) {
        services.store.apps.setRuntime(app.name, target);
        io.stdout.write(`-----> ${app.name} runs on ${effective} already\n`);
        return;
      }
      await withCommandLock({ services, io, caller }, app.name, 'runtime change', async () => {
        // As it is now that the lock is ours: a deploy may have finished meanwhile.
        const locked = getApp(services, caller, app.name, { owner: true });
        const current = locked.currentRelease === null ? undefined : services.store.releases.find(app.name, locked.currentRelease);
        const previous = locked.runtime;
        services.store.apps.setRuntime(app.name, target);
        if (!current || locked.stopped) {
          io.stdout.write(`-----> ${app.name} runs on ${effective} from its next deploy\n`);
          return;
        }
        const progress = new Progress([io.stdout]);
        try {
          // The new runtime's instances start and take the traffic; then the old ones go.
          await converge(services, current, { replace: 'all', progress, signal: io.signal });
        } catch (err) {
          services.store.apps.setRuntime(app.name, previous);
          throw err;
        }
        await before.destroy(app.name);
        io.stdout.write(`-----> ${app.name} runs on ${effective} now (v${current.version})\n`);
      });
    },
  },
  {
    name: 'apps:stack-update',
    usage: 'APP STACK',
    summary: "Set the stack an app builds with from its next push ('none': its Dockerfile, else detection)",
    async run({ args, io, services, caller }) {
      const { positionals } = parseCommandArgs('apps:stack-update', 'APP STACK', args, {}, { min: 2, max: 2 });
      const app = getApp(services, caller, positionals[0], { owner: true });
      const name = positionals[1];
      if (name === 'none') {
        services.store.apps.setStack(app.name, null);
        io.stdout.write(`-----> ${app.name} has no stack now: the next push builds its Dockerfile, or the built-in stack that fits\n`);
        return;
      }
      const stack = findUsableStack(services.store, name, caller.user, caller.admin);
      services.store.transaction(() => {
        services.store.apps.setStack(app.name, name);
        if (stack !== 'builtin') applyStackFormation(services, app.name, stack.definition);
      });
      io.stdout.write(`-----> ${app.name} builds with the ${name} stack from its next push\n`);
    },
  },
  {
    name: 'apps:info',
    usage: 'NAME [--json]',
    summary: 'Show an app: release, URL, processes, git remote',
    async run({ args, io, services, caller }) {
      const { positionals, values } = parseCommandArgs('apps:info', 'NAME [--json]', args, json, { min: 1, max: 1 });
      const app = getApp(services, caller, positionals[0]);
      const current = app.currentRelease === null ? undefined : services.store.releases.find(app.name, app.currentRelease);
      const instances = await services.runtime.status(app.name);
      const serving = instances.some((i) => i.release === app.currentRelease && i.process === 'web' && i.state === 'running');
      const url = serving ? appUrl(services, app.name) : null;
      const info = {
        name: app.name,
        createdAt: app.createdAt,
        createdBy: app.createdBy,
        stack: app.stack,
        runtime: services.runtime.for(app.name).name,
        gitRemote: gitRemote(services, app.name),
        release: current ? { version: current.version, commit: current.commit, createdAt: current.createdAt, pusher: current.pusher } : null,
        url,
        processes: instances.map((i) => ({ name: `${i.process}.${i.index}`, release: i.release, state: i.state })),
      };
      if (values.json) return writeJson(io.stdout, info);
      const rows = [
        ['Created:', `${app.createdAt} by ${app.createdBy}`],
        ['Git remote:', info.gitRemote],
        ['Stack:', app.stack ?? '-'],
        ['Runtime:', services.runtime.for(app.name).name],
        ['Release:', current ? `v${current.version} (${current.commit.slice(0, 7)}, ${current.createdAt} by ${current.pusher})` : 'none yet: push to deploy'],
        ['URL:', url ?? '-'],
        ['Processes:', instances.length ? instances.map((i) => `${i.process}.${i.index} ${i.state}`).join(', ') : '-'],
      ];
      io.stdout.write(`=====> ${app.name}\n${table(rows).replace(/^(?=.)/gm, '       ')}`);
    },
  },
  {
    name: 'apps:destroy',
    usage: 'NAME --confirm NAME',
    summary: 'Remove an app: its processes, images, repo, releases and builds',
    async run({ args, io, services, caller }) {
      const { positionals, values } = parseCommandArgs('apps:destroy', 'NAME --confirm NAME', args, { confirm: { type: 'string' } }, { min: 1, max: 1 });
      const app = getApp(services, caller, positionals[0], { owner: true });
      if (values.confirm !== app.name) {
        throw new UsageError(`this destroys ${app.name} with all its releases and its repo; to go on, run: apps:destroy ${app.name} --confirm ${app.name}`);
      }
      const left = await withCommandLock({ services, io, caller }, app.name, 'destroy', () => destroyApp(services, app.name));
      io.stdout.write(`-----> Destroyed ${app.name}\n`);
      if (left > 0) io.stdout.write(`       ${left} of its images stay while other images build on them; the server removes them when it next starts\n`);
    },
  },
];
