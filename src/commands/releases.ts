import { parseCommandArgs, table, writeJson } from './args.js';
import { getApp } from './app-lifecycle.js';
import type { CommandSpec } from './command.js';

export const releasesCommands: CommandSpec[] = [
  {
    name: 'releases',
    aliases: ['releases:list'],
    usage: 'APP [--json]',
    summary: "List an app's releases, newest first (* marks the one serving)",
    async run({ args, io, services }) {
      const { positionals, values } = parseCommandArgs('releases', 'APP [--json]', args, { json: { type: 'boolean' } }, { min: 1, max: 1 });
      const app = getApp(services, positionals[0]);
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
];
