import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { NotFoundError } from '../errors.js';
import { getRelease, rollback } from '../operations/releases.js';
import { releaseLogPath, releasePhaseCommands } from '../pipeline/release-phase.js';
import { getApp } from '../access/policy.js';
import { table, writeJson } from './args.js';
import { releasePhaseNote } from './audit.js';
import type { CommandSpec } from './command.js';
import { operation } from './operation-io.js';
import { HEADING } from '../output/progress.js';

export const releasesCommands: CommandSpec[] = [
  {
    name: 'releases',
    aliases: ['releases:list'],
    usage: 'APP [--json]',
    summary: "List an app's releases, newest first (* marks the one serving)",
    async run({ values, positionals, io, services, caller }) {
      const app = getApp(services, caller, positionals[0]);
      const releases = services.store.releases.list(app.name);
      if (values.json)
        return writeJson(
          io.stdout,
          releases.map((r) => ({ ...r, current: r.version === app.currentRelease })),
        );
      io.stdout.write(`${HEADING}${app.name} releases\n`);
      io.stdout.write(
        table(releases.map((r) => [`${r.version === app.currentRelease ? '*' : ' '} v${r.version}`, r.status, r.description, r.pusher, r.createdAt])),
      );
    },
  },
  {
    name: 'releases:info',
    usage: 'APP vN [--json]',
    summary: 'Show one release: image, commit, author, time, config keys',
    async run({ values, positionals, io, services, caller }) {
      const app = getApp(services, caller, positionals[0]);
      const rel = getRelease(services, app, positionals[1]);
      const { config, ...rest } = rel;
      // Keys only: values do not leave config and config:get.
      const info = { ...rest, configKeys: Object.keys(config).sort(), current: rel.version === app.currentRelease };
      if (values.json) return writeJson(io.stdout, info);
      io.stdout.write(`${HEADING}${app.name} v${rel.version}${info.current ? ' (serving)' : ''}\n`);
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
    name: 'releases:output',
    rawOutput: true,
    usage: 'APP vN',
    summary: "Print what a release's release phase (the Procfile's release command) printed",
    async run({ positionals, io, services, caller }) {
      const app = getApp(services, caller, positionals[0]);
      const rel = getRelease(services, app, positionals[1]);
      const file = releaseLogPath(services.config, app.name, rel.version);
      if (!fs.existsSync(file)) {
        throw new NotFoundError(
          releasePhaseCommands(rel).length === 0
            ? `v${rel.version} has no release phase (no release: line in its Procfile, no predeploy in its app.json)`
            : `v${rel.version}'s release phase did not run (skipped, or the release failed before it)`,
        );
      }
      await pipeline(fs.createReadStream(file), io.stdout, { end: false });
    },
  },
  {
    name: 'rollback',
    aliases: ['releases:rollback'],
    usage: 'APP [vN] [--no-release-phase] [--with-data]',
    summary:
      'Release an earlier image and config again (default: the one before the current), without rebuilding; --with-data also takes the linked databases back to before the first later release phase',
    audit: ({ positionals, values }) => ({
      app: positionals[0],
      detail: { to: positionals[1] ?? 'previous', ...releasePhaseNote(values), ...(values['with-data'] ? { withData: true } : {}) },
    }),
    async run(ctx) {
      await rollback(operation(ctx), ctx.positionals[0], ctx.positionals[1], {
        releasePhase: ctx.values['no-release-phase'] !== true,
        withData: ctx.values['with-data'] === true,
      });
    },
  },
];
