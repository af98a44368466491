import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUILTIN_STACKS } from '../builder/stacks.js';
import { DEPLOY_BRANCHES } from '../domain/deploy-branch.js';
import { BuildFailedError, NotFoundError } from '../errors.js';
import { checkout } from '../pipeline/checkout.js';
import { parseCommandArgs, table, writeJson } from './args.js';
import { getApp } from './app-lifecycle.js';
import type { CommandSpec } from './command.js';
import { execa } from 'execa';

export const stacksCommands: CommandSpec[] = [
  {
    name: 'stacks',
    aliases: ['stacks:list'],
    usage: '[--json]',
    summary: 'List the stacks that build apps without a Dockerfile',
    async run({ args, io, services }) {
      const { values } = parseCommandArgs('stacks', '[--json]', args, { json: { type: 'boolean' } }, { min: 0, max: 0 });
      const images = services.config.stackImages;
      const stacks = BUILTIN_STACKS.map((s) => ({ name: s.name, description: s.description, image: images[s.name as keyof typeof images], builtin: true }));
      if (values.json) return writeJson(io.stdout, stacks);
      io.stdout.write(`=====> Stacks\n${table(stacks.map((s) => [s.name, s.image, s.description]))}`);
    },
  },
  {
    name: 'stacks:dockerfile',
    usage: 'APP',
    summary: "Print the Dockerfile the app's last pushed commit builds with, to read or copy",
    async run({ args, io, services, caller }) {
      const { positionals } = parseCommandArgs('stacks:dockerfile', 'APP', args, {}, { min: 1, max: 1 });
      const app = getApp(services, caller, positionals[0]);
      const repoDir = services.repos.pathOf(app.name);
      let commit: string | undefined;
      for (const ref of DEPLOY_BRANCHES) {
        const r = await execa('git', ['rev-parse', '--verify', '--quiet', ref], { cwd: repoDir, reject: false });
        if (r.exitCode === 0) {
          commit = r.stdout.trim();
          break;
        }
      }
      if (!commit) throw new NotFoundError(`${app.name} has no pushed code yet; push to main first`);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-dockerfile-'));
      try {
        await checkout(repoDir, commit, dir, io.signal);
        for (const builder of services.builders) {
          const why = await builder.detect(dir);
          if (why === undefined) continue;
          io.stdout.write(`# ${app.name} at ${commit.slice(0, 7)} builds with ${why}\n${builder.dockerfile(dir)}`);
          return;
        }
        throw new BuildFailedError('nothing in this commit tells how to build it: add a Dockerfile, package.json, requirements.txt or index.html');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  },
];
