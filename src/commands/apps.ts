import { appCompose } from '../operations/local-compose.js';
import { UsageError } from '../errors.js';
import { createAppOnStack, destroyOwnApp, setAppNode, setAppRuntime, setAppStack, setReviewApps } from '../operations/apps.js';
import { pausedUntil } from '../operations/pause.js';
import { getApp, mayUseApp } from '../access/policy.js';
import { appUrl } from '../pipeline/route.js';
import { table, writeJson } from './args.js';
import { onApp } from './audit.js';
import type { CommandSpec, Services } from './command.js';
import { operation } from './operation-io.js';
import { STEP, HEADING } from '../output/progress.js';

export function gitRemote(services: Services, app: string): string {
  return `ssh://git@${services.config.domain}:${services.config.sshPort}/${app}.git`;
}

export const appsCommands: CommandSpec[] = [
  {
    name: 'apps:compose',
    usage: 'APP [--with-values] [--seed]',
    summary:
      "Print a docker-compose.yaml for local work: the app's current release image, process types, port, volumes and config keys (--with-values: and values), with local copies of its linked services (--seed: loaded from their newest good backup)",
    async run({ positionals, values, io, services, caller }) {
      io.stdout.write(await appCompose({ services, caller }, positionals[0], { withValues: values['with-values'] === true, seed: values.seed === true }));
    },
  },
  {
    name: 'apps:list',
    aliases: ['apps'],
    usage: '[--json]',
    summary: 'List apps',
    async run({ values, io, services, caller }) {
      const apps = services.store.apps.list().filter((app) => mayUseApp(services.store, app.name, caller));
      if (values.json) return writeJson(io.stdout, apps);
      io.stdout.write(`${HEADING}Apps\n`);
      for (const app of apps) io.stdout.write(`${app.name}\n`);
    },
  },
  {
    name: 'apps:create',
    usage: 'NAME [--stack STACK]',
    summary: 'Create an app, optionally set to build with a stack (a push to a new name creates it too)',
    audit: ({ positionals, values }) => ({ app: positionals[0], detail: values.stack !== undefined ? { stack: values.stack } : {} }),
    async run(ctx) {
      const { positionals, values } = ctx;
      const stackName = values.stack as string | undefined;
      const { app, stack } = await createAppOnStack(ctx, positionals[0], stackName ?? null);
      ctx.io.stdout.write(
        `${STEP}Created ${app.name}${stackName ? ` with the ${stackName} stack` : ''}\n       git remote add paas ${gitRemote(ctx.services, app.name)}\n`,
      );
      if (stack && stack !== 'builtin' && stack.definition.template) {
        ctx.io.stdout.write(`       Start from the stack's template: git clone ${stack.definition.template.uri}\n`);
      }
    },
  },
  {
    name: 'apps:set',
    usage: 'APP SETTING VALUE [--max N]',
    summary:
      "runtime NAME: run the app on another runtime (docker, systemd, swarm; 'default': SKIFF_RUNTIME), moving it without downtime; node NAME|any (admin, swarm): the node its tasks run on; review-apps on|off [--max N]: a push of another branch deploys its review app",
    audit: ({ positionals, values }) => ({
      app: positionals[0],
      detail: { setting: positionals[1] ?? null, value: positionals[2] ?? null, ...(values.max === undefined ? {} : { max: values.max }) },
    }),
    async run(ctx) {
      const [appName, key, value] = ctx.positionals;
      if (key === 'review-apps') {
        const { app, max } = setReviewApps(ctx, appName, value, ctx.values.max === undefined ? undefined : String(ctx.values.max));
        ctx.io.stdout.write(
          max === null
            ? `${STEP}${app.name} makes no more review apps; those there are stay until their branches are deleted\n`
            : `${STEP}A push of a branch other than main or master now deploys its review app (${app.name}-BRANCH; at most ${max})\n`,
        );
        return;
      }
      if (key === 'node') {
        if (ctx.values.max !== undefined) throw new UsageError('--max goes with review-apps on');
        const placed = await setAppNode(operation(ctx), appName, value);
        const where = placed.node === null ? 'on any node' : `on ${placed.node}`;
        ctx.io.stdout.write(`${STEP}${placed.app.name}'s tasks run ${where} ${placed.now ? 'now' : 'from its first deploy'}\n`);
        return;
      }
      if (key !== 'runtime')
        throw new UsageError(
          `unknown setting '${key}'; apps:set APP runtime NAME, apps:set APP node NAME|any and apps:set APP review-apps on|off are the ones there are`,
        );
      if (ctx.values.max !== undefined) throw new UsageError('--max goes with review-apps on');
      const moved = await setAppRuntime(operation(ctx), appName, value);
      const said = { already: 'already', 'next-deploy': 'from its next deploy', now: `now (v${moved.version})` }[moved.when];
      ctx.io.stdout.write(
        moved.when === 'already'
          ? `${STEP}${moved.app.name} runs on ${moved.runtime} already\n`
          : `${STEP}${moved.app.name} runs on ${moved.runtime} ${said}\n`,
      );
    },
  },
  {
    name: 'apps:stack-update',
    usage: 'APP STACK',
    summary: "Set the stack an app builds with from its next push ('none': its Dockerfile, else detection)",
    audit: ({ positionals }) => ({ app: positionals[0], detail: { stack: positionals[1] ?? null } }),
    async run({ positionals, io, services, caller }) {
      const name = positionals[1];
      const app = setAppStack({ services, caller }, positionals[0], name === 'none' ? null : name);
      io.stdout.write(
        name === 'none'
          ? `${STEP}${app.name} has no stack now: the next push builds its Dockerfile, or the built-in stack that fits\n`
          : `${STEP}${app.name} builds with the ${name} stack from its next push\n`,
      );
    },
  },
  {
    name: 'apps:info',
    usage: 'NAME [--json]',
    summary: 'Show an app: release, URL, processes, git remote',
    async run({ values, positionals, io, services, caller }) {
      const app = getApp(services, caller, positionals[0]);
      const current = services.store.releases.current(app.name);
      const instances = await services.runtime.status(app.name);
      const serving = instances.some((i) => i.release === app.currentRelease && i.process === 'web' && i.state === 'running');
      const url = serving ? appUrl(services, app.name) : null;
      const info = {
        name: app.name,
        id: app.id,
        createdAt: app.createdAt,
        createdBy: app.createdBy,
        stack: app.stack,
        runtime: services.runtime.for(app.name).name,
        node: app.node,
        reviewApps:
          app.reviewApps === null
            ? null
            : { max: app.reviewApps, apps: services.store.apps.reviewAppsOf(app.name).map((r) => ({ name: r.name, branch: r.reviewOf?.branch })) },
        reviewOf: app.reviewOf,
        pipeline: services.store.pipelines.ofApp(app.name) ?? null,
        maintenance: app.maintenance,
        paused: pausedUntil(services, app.name),
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
        ['Runtime:', `${services.runtime.for(app.name).name}${app.node ? `, on node ${app.node}` : ''}`],
        ...(info.pipeline ? [['Pipeline:', `${info.pipeline.pipeline} (${info.pipeline.stage})`]] : []),
        ...(info.paused ? [['Paused:', `until ${info.paused} (ps:resume ${app.name} to end it)`]] : []),
        ...(app.maintenance
          ? [
              [
                'Maintenance:',
                `on since ${app.maintenance.since}${app.maintenance.allowPaths.length ? `; ${app.maintenance.allowPaths.join(', ')} still served` : ''}`,
              ],
            ]
          : []),
        ...(app.reviewOf ? [['Review app of:', `${app.reviewOf.parent}, branch ${app.reviewOf.branch}`]] : []),
        ...(info.reviewApps
          ? [['Review apps:', `on, at most ${info.reviewApps.max}: ${info.reviewApps.apps.map((r) => r.name).join(', ') || 'none yet'}`]]
          : []),
        ['Release:', current ? `v${current.version} (${current.commit.slice(0, 7)}, ${current.createdAt} by ${current.pusher})` : 'none yet: push to deploy'],
        ['URL:', url ?? '-'],
        ['Processes:', instances.length ? instances.map((i) => `${i.process}.${i.index} ${i.state}`).join(', ') : '-'],
      ];
      io.stdout.write(`${HEADING}${app.name}\n${table(rows).replace(/^(?=.)/gm, '       ')}`);
    },
  },
  {
    name: 'apps:destroy',
    usage: 'NAME --confirm NAME',
    summary: 'Remove an app: its processes, images, repo, releases and builds',
    audit: onApp,
    async run(ctx) {
      const { positionals, values, services, caller } = ctx;
      const app = getApp(services, caller, positionals[0], { owner: true });
      if (values.confirm !== app.name) {
        throw new UsageError(`this destroys ${app.name} with all its releases and its repo; to go on, run: apps:destroy ${app.name} --confirm ${app.name}`);
      }
      const { imagesLeft, reviewApps } = await destroyOwnApp(operation(ctx), app.name);
      ctx.io.stdout.write(`${STEP}Destroyed ${app.name}${reviewApps.length ? ` and its review apps ${reviewApps.join(', ')}` : ''}\n`);
      if (imagesLeft > 0)
        ctx.io.stdout.write(`       ${imagesLeft} of its images stay while other images build on them; the server removes them when it next starts\n`);
    },
  },
];
