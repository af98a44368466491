import { addToPipeline, createPipeline, destroyPipeline, listPipelines, promote, removeFromPipeline, showPipeline } from '../operations/pipelines.js';
import { HEADING, STEP } from '../output/progress.js';
import { ConflictError } from '../errors.js';
import { table, writeJson } from './args.js';
import type { CommandSpec } from './command.js';
import { operation } from './operation-io.js';

export const pipelinesCommands: CommandSpec[] = [
  {
    name: 'pipelines',
    aliases: ['pipelines:info'],
    usage: '[NAME] [--json]',
    summary: 'List your pipelines; with NAME, each app: stage, current release, image id, commit',
    async run({ positionals, values, io, services, caller }) {
      if (positionals[0] === undefined) {
        const all = listPipelines({ services, caller });
        if (values.json) return writeJson(io.stdout, all);
        if (all.length === 0) return void io.stdout.write('(no pipelines: pipelines:create NAME)\n');
        io.stdout.write(
          table([['PIPELINE', 'OWNER', 'APPS'], ...all.map((p) => [p.name, p.owner, p.apps.map((a) => `${a.app} (${a.stage})`).join(', ') || '-'])]),
        );
        return;
      }
      const { pipeline, apps } = await showPipeline({ services, caller }, positionals[0]);
      if (values.json) return writeJson(io.stdout, { name: pipeline.name, owner: pipeline.owner, apps });
      io.stdout.write(`${HEADING}${pipeline.name} (owner ${pipeline.owner})\n`);
      if (apps.length === 0) return void io.stdout.write(`(no apps: pipelines:add ${pipeline.name} APP --stage staging)\n`);
      io.stdout.write(
        table([
          ['STAGE', 'APP', 'RELEASE', 'IMAGE', 'COMMIT'],
          ...apps.map((a) => [
            a.stage,
            a.app,
            a.release === null ? '-' : `v${a.release}`,
            a.image?.replace(/^(sha256:[0-9a-f]{12}).*$/, '$1') ?? '-',
            a.commit?.slice(0, 7) ?? '-',
          ]),
        ]),
      );
    },
  },
  {
    name: 'pipelines:create',
    usage: 'NAME',
    summary: 'Create a pipeline: apps at stages (review, staging, production) an image is promoted through',
    audit: ({ positionals }) => ({ app: null, detail: { pipeline: positionals[0] ?? null } }),
    async run({ positionals, io, services, caller }) {
      const pipeline = createPipeline({ services, caller }, positionals[0]);
      io.stdout.write(`${STEP}Created pipeline ${pipeline.name}; add apps with pipelines:add ${pipeline.name} APP --stage staging\n`);
    },
  },
  {
    name: 'pipelines:add',
    usage: 'NAME APP --stage STAGE',
    summary: 'Put an app in a pipeline at a stage: review, staging or production (the pipeline’s owner, who may use the app)',
    audit: ({ positionals, values }) => ({ app: positionals[1] ?? null, detail: { pipeline: positionals[0] ?? null, stage: values.stage ?? null } }),
    async run({ positionals, values, io, services, caller }) {
      const { pipeline, stage } = addToPipeline(
        { services, caller },
        positionals[0],
        positionals[1],
        values.stage === undefined ? undefined : String(values.stage),
      );
      io.stdout.write(`${STEP}${positionals[1]} is at ${stage} in pipeline ${pipeline.name}\n`);
    },
  },
  {
    name: 'pipelines:remove',
    usage: 'NAME APP',
    summary: 'Take an app out of a pipeline (the app stays)',
    audit: ({ positionals }) => ({ app: positionals[1] ?? null, detail: { pipeline: positionals[0] ?? null } }),
    async run({ positionals, io, services, caller }) {
      removeFromPipeline({ services, caller }, positionals[0], positionals[1]);
      io.stdout.write(`${STEP}${positionals[1]} left pipeline ${positionals[0]}\n`);
    },
  },
  {
    name: 'pipelines:destroy',
    usage: 'NAME',
    summary: 'Delete a pipeline (its apps stay)',
    audit: ({ positionals }) => ({ app: null, detail: { pipeline: positionals[0] ?? null } }),
    async run({ positionals, io, services, caller }) {
      destroyPipeline({ services, caller }, positionals[0]);
      io.stdout.write(`${STEP}Destroyed pipeline ${positionals[0]}\n`);
    },
  },
  {
    name: 'pipelines:promote',
    usage: 'APP [--to APP2]',
    summary: "Release APP's current image (the same digest, no rebuild) on the next stage's apps, or on APP2, each with its own config and checks",
    audit: ({ positionals, values }) => ({ app: positionals[0] ?? null, detail: { to: values.to ?? 'next stage' } }),
    async run(ctx) {
      const results = await promote(operation(ctx), ctx.positionals[0], ctx.values.to === undefined ? undefined : String(ctx.values.to));
      const failed = results.filter((r) => r.error !== undefined);
      if (failed.length) throw new ConflictError(`promotion failed for ${failed.map((r) => r.app).join(', ')}: ${failed.map((r) => r.error).join('; ')}`);
    },
  },
];
