import { ConflictError, InvalidError, NotFoundError } from '../errors.js';
import { Progress } from '../output/progress.js';
import { rollout } from '../pipeline/rollout.js';
import type { App, Release } from '../store/store.js';
import { parseCommandArgs, table, writeJson } from './args.js';
import { getApp, withCommandLock } from './app-lifecycle.js';
import type { CommandSpec, Services } from './command.js';

function parseVersion(input: string): number {
  const m = /^v?([1-9][0-9]{0,8})$/.exec(input);
  if (!m) throw new InvalidError(`'${input}' is not a release; write it as v3 (releases APP lists them)`);
  return Number(m[1]);
}

function getRelease(services: Services, app: App, input: string): Release {
  const rel = services.store.releases.find(app.name, parseVersion(input));
  if (!rel) throw new NotFoundError(`${app.name} has no release ${input}; releases ${app.name} lists them`);
  return rel;
}

/** Without a version: the newest deployed release before the current one, as Heroku does. */
function rollbackTarget(services: Services, app: App, input: string | undefined): Release {
  if (app.currentRelease === null) throw new ConflictError(`${app.name} has no release yet; push to deploy`);
  if (input !== undefined) {
    const rel = getRelease(services, app, input);
    if (rel.status !== 'deployed') throw new ConflictError(`v${rel.version} never went live (${rel.status}); pick a deployed release`);
    if (rel.version === app.currentRelease) throw new ConflictError(`v${rel.version} is already serving`);
    return rel;
  }
  const earlier = services.store.releases.list(app.name).find((r) => r.status === 'deployed' && r.version < (app.currentRelease ?? 0));
  if (!earlier) throw new ConflictError(`${app.name} has no earlier release to roll back to`);
  return earlier;
}

export const releasesCommands: CommandSpec[] = [
  {
    name: 'releases',
    aliases: ['releases:list'],
    usage: 'APP [--json]',
    summary: "List an app's releases, newest first (* marks the one serving)",
    async run({ args, io, services, caller }) {
      const { positionals, values } = parseCommandArgs('releases', 'APP [--json]', args, { json: { type: 'boolean' } }, { min: 1, max: 1 });
      const app = getApp(services, caller, positionals[0]);
      const releases = services.store.releases.list(app.name);
      if (values.json) return writeJson(io.stdout, releases.map((r) => ({ ...r, current: r.version === app.currentRelease })));
      io.stdout.write(`=====> ${app.name} releases\n`);
      io.stdout.write(
        table(
          releases.map((r) => [
            `${r.version === app.currentRelease ? '*' : ' '} v${r.version}`,
            r.status,
            r.description,
            r.pusher,
            r.createdAt,
          ]),
        ),
      );
    },
  },
  {
    name: 'releases:info',
    usage: 'APP vN [--json]',
    summary: 'Show one release: image, commit, author, time, config keys',
    async run({ args, io, services, caller }) {
      const { positionals, values } = parseCommandArgs('releases:info', 'APP vN [--json]', args, { json: { type: 'boolean' } }, { min: 2, max: 2 });
      const app = getApp(services, caller, positionals[0]);
      const rel = getRelease(services, app, positionals[1]);
      const { config, ...rest } = rel;
      // Keys only: values do not leave config and config:get.
      const info = { ...rest, configKeys: Object.keys(config).sort(), current: rel.version === app.currentRelease };
      if (values.json) return writeJson(io.stdout, info);
      io.stdout.write(`=====> ${app.name} v${rel.version}${info.current ? ' (serving)' : ''}\n`);
      const rows = [
        ['Status:', rel.status],
        ['Description:', rel.description],
        ['Image:', rel.image],
        ['Commit:', rel.commit],
        ['By:', rel.pusher],
        ['When:', rel.createdAt],
        ['Config:', info.configKeys.join(', ') || '-'],
      ];
      io.stdout.write(table(rows).replace(/^(?=.)/gm, '       '));
    },
  },
  {
    name: 'rollback',
    aliases: ['releases:rollback'],
    usage: 'APP [vN]',
    summary: 'Release an earlier image and config again (default: the one before the current), without rebuilding',
    async run({ args, io, services, caller }) {
      const { positionals } = parseCommandArgs('rollback', 'APP [vN]', args, {}, { min: 1, max: 2 });
      const name = getApp(services, caller, positionals[0]).name;
      await withCommandLock({ services, io, caller }, name, 'rollback', async () => {
        const app = getApp(services, caller, name);
        const target = rollbackTarget(services, app, positionals[1]);
        // With a registry, an image that is not on this host is pulled from it.
        if (!services.registry && !(await services.images.exists(target.image))) {
          throw new ConflictError(`the image of v${target.version} was pruned (SKIFF_KEEP_RELEASES keeps the newest ones); push that commit again instead`);
        }
        io.stdout.write(`-----> Rolling back ${app.name} to v${target.version}\n`);
        await rollout(
          services,
          {
            app: app.name,
            image: target.image,
            commit: target.commit,
            buildId: target.buildId,
            pusher: caller.user,
            description: `Rollback to v${target.version}`,
            config: target.config,
            processes: target.processes,
            healthcheck: target.healthcheck,
            port: target.port,
            dropSourceTag: false,
          },
          new Progress([io.stdout]),
          io.signal,
        );
        // The config of the release that serves is the app's config again.
        const current = services.store.config.get(app.name);
        services.store.config.update(app.name, target.config, Object.keys(current).filter((k) => !(k in target.config)));
      });
    },
  },
];
