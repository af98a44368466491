import fs from 'node:fs';
import { InvalidError, NotFoundError } from '../errors.js';
import { table, writeJson } from './args.js';
import { getApp } from '../access/policy.js';
import type { CommandSpec } from './command.js';
import { HEADING } from '../output/progress.js';

function duration(start: string, end: string | null): string {
  if (!end) return '-';
  return `${((Date.parse(end) - Date.parse(start)) / 1000).toFixed(1)}s`;
}

export const buildsCommands: CommandSpec[] = [
  {
    name: 'builds',
    aliases: ['builds:list'],
    usage: 'APP [--json]',
    summary: "List an app's builds, newest first",
    async run({ values, positionals, io, services, caller }) {
      const app = getApp(services, caller, positionals[0]);
      const builds = services.store.builds.list(app.name);
      if (values.json)
        return writeJson(
          io.stdout,
          builds.map(({ logPath: _logPath, pid: _pid, ...rest }) => rest),
        );
      io.stdout.write(`${HEADING}${app.name} builds\n`);
      io.stdout.write(table(builds.map((b) => [String(b.id), b.status, b.commit.slice(0, 7), b.pusher, b.startedAt, duration(b.startedAt, b.finishedAt)])));
    },
  },
  {
    name: 'builds:output',
    rawOutput: true,
    usage: 'APP [BUILD]',
    summary: 'Print the log of a build (the latest by default)',
    async run({ positionals, io, services, caller }) {
      const app = getApp(services, caller, positionals[0]);
      let build;
      if (positionals[1] !== undefined) {
        if (!/^[1-9][0-9]{0,9}$/.test(positionals[1])) throw new InvalidError(`'${positionals[1]}' is not a build number; builds ${app.name} lists them`);
        build = services.store.builds.find(app.name, Number(positionals[1]));
        if (!build) throw new NotFoundError(`${app.name} has no build ${positionals[1]}; builds ${app.name} lists them`);
      } else {
        build = services.store.builds.latest(app.name);
        if (!build) throw new NotFoundError(`${app.name} has no builds yet; push to build`);
      }
      if (!fs.existsSync(build.logPath)) throw new NotFoundError(`the log of build ${build.id} is gone`);
      await new Promise<void>((resolve, reject) => {
        const file = fs.createReadStream(build.logPath);
        file.on('error', reject);
        file.on('end', resolve);
        file.pipe(io.stdout, { end: false });
      });
    },
  },
];
