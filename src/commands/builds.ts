import fs from 'node:fs';
import { InvalidError, NotFoundError } from '../errors.js';
import { table, writeJson } from './args.js';
import { getApp } from '../access/policy.js';
import { HEADING } from '../output/progress.js';
import type { Build } from '../domain/entities.js';
import type { CommandSpec, Services } from './command.js';

function duration(start: string, end: string | null): string {
  if (!end) return '-';
  return `${((Date.parse(end) - Date.parse(start)) / 1000).toFixed(1)}s`;
}

/** The app's build numbered id, or its latest; a user mistake says what to do. */
function buildOf(services: Services, app: string, id: string | undefined): Build {
  if (id === undefined) {
    const latest = services.store.builds.latest(app);
    if (!latest) throw new NotFoundError(`${app} has no builds yet; push to build`);
    return latest;
  }
  if (!/^[1-9][0-9]{0,9}$/.test(id)) throw new InvalidError(`'${id}' is not a build number; builds ${app} lists them`);
  const build = services.store.builds.find(app, Number(id));
  if (!build) throw new NotFoundError(`${app} has no build ${id}; builds ${app} lists them`);
  return build;
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
    name: 'builds:info',
    usage: 'APP [BUILD] [--json]',
    summary: 'Show a build (the latest by default): its commit, outcome, and how long each step of the push took',
    async run({ values, positionals, io, services, caller }) {
      const app = getApp(services, caller, positionals[0]);
      const build = buildOf(services, app.name, positionals[1]);
      const { logPath: _logPath, pid: _pid, ...shown } = build;
      if (values.json) return writeJson(io.stdout, shown);
      io.stdout.write(`${HEADING}${app.name} build ${build.id}\n`);
      io.stdout.write(
        table([
          ['Status:', build.status + (build.error ? ` (${build.error})` : '')],
          ['Commit:', `${build.commit.slice(0, 7)} (${build.ref.replace('refs/heads/', '')})`],
          ['Pusher:', build.pusher],
          ['Started:', build.startedAt],
          ['Took:', duration(build.startedAt, build.finishedAt)],
        ]),
      );
      if (build.timings.length === 0) return void io.stdout.write('(no step times: the build is older than them)\n');
      io.stdout.write(`${HEADING}Steps\n`);
      io.stdout.write(table(build.timings.map((t) => [`${'  '.repeat(t.depth)}${t.step}`, `${(t.ms / 1000).toFixed(3)}s`])));
    },
  },
  {
    name: 'builds:output',
    rawOutput: true,
    usage: 'APP [BUILD]',
    summary: 'Print the log of a build (the latest by default)',
    async run({ positionals, io, services, caller }) {
      const app = getApp(services, caller, positionals[0]);
      const build = buildOf(services, app.name, positionals[1]);
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
