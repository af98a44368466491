import { BUILTIN_STACKS } from '../builder/stacks.js';
import { parseStackName } from '../domain/stackfile.js';
import { InvalidError } from '../errors.js';
import { createStack, dockerfileOf, publishStack, removeStack, updateStack } from '../operations/stacks.js';
import { getStack, mayUseApp, maySeeStack } from '../access/policy.js';
import type { Stack } from '../domain/entities.js';
import { table, writeJson } from './args.js';
import { offApp } from './audit.js';
import type { CommandContext, CommandSpec } from './command.js';
import { readAll } from './read-all.js';
import { STEP, HEADING } from '../output/progress.js';

const MAX_STACKFILE = 64 * 1024;

async function readStackfile(ctx: CommandContext, command: string): Promise<string> {
  if (ctx.io.stdin.readableEnded) throw new InvalidError(`send the stackfile on stdin: ssh … ${command} < stackfile.yml`);
  const source = await readAll(ctx.io.stdin, MAX_STACKFILE + 1, ctx.io.signal);
  if (source.trim() === '') throw new InvalidError(`send the stackfile on stdin: ssh … ${command} < stackfile.yml`);
  return source;
}

function stackSummary(stack: Stack): Record<string, unknown> {
  const { service, ...rest } = stack.definition;
  return {
    ...rest,
    builtin: false,
    creator: stack.creator,
    published: stack.published,
    createdAt: stack.createdAt,
    updatedAt: stack.updatedAt,
    service,
  };
}

export const stacksCommands: CommandSpec[] = [
  {
    name: 'stacks',
    aliases: ['stacks:list'],
    usage: '[--json]',
    summary: 'List the stacks apps can build with: built-in ones and those defined by a stackfile',
    async run({ values, io, services, caller }) {
      const images = services.config.stackImages;
      const builtin = BUILTIN_STACKS.map((s) => ({
        name: s.name,
        builtin: true,
        published: true,
        creator: null,
        image: images[s.name as keyof typeof images],
        description: s.description,
      }));
      const defined = services.store.stacks
        .list()
        .filter((s) => maySeeStack(s, caller))
        .map((s) => ({
          name: s.name,
          builtin: false,
          published: s.published,
          creator: s.creator,
          image: s.definition.service.build.image,
          description: s.definition.description,
        }));
      const stacks = [...builtin, ...defined];
      if (values.json) return writeJson(io.stdout, stacks);
      const rows = stacks.map((s) => [s.name, s.builtin ? 'built-in' : s.published ? 'published' : 'unpublished', s.creator ?? '-', s.image, s.description]);
      io.stdout.write(`${HEADING}Stacks\n${table([['NAME', 'STATE', 'CREATOR', 'IMAGE', 'DESCRIPTION'], ...rows])}`);
    },
  },
  {
    name: 'stacks:create',
    usage: '< stackfile.yml',
    summary: 'Define a stack from a stackfile.yml on stdin; it starts unpublished (only you can use it)',
    // A stack's build image runs with a Docker API (one that may only build $IMAGE) and
    // every app on it runs its images: which images those are is an admin's choice.
    adminOnly: true,
    audit: offApp(),
    async run(ctx) {
      const stack = createStack(ctx, await readStackfile(ctx, 'stacks:create'));
      ctx.io.stdout.write(`${STEP}Created the ${stack.name} stack, unpublished: only you can use it until stacks:publish ${stack.name}\n`);
    },
  },
  {
    name: 'stacks:update',
    usage: '< stackfile.yml',
    summary: 'Replace a stack’s definition with the stackfile.yml on stdin (its name says which); the next push uses it',
    adminOnly: true,
    audit: offApp(),
    async run(ctx) {
      const { stack, apps } = updateStack(ctx, await readStackfile(ctx, 'stacks:update'));
      ctx.io.stdout.write(
        `${STEP}Updated the ${stack.name} stack${apps.length ? `; ${apps.length} app${apps.length === 1 ? '' : 's'} use${apps.length === 1 ? 's' : ''} it from the next push` : ''}\n`,
      );
    },
  },
  {
    name: 'stacks:info',
    usage: 'NAME [--json]',
    summary: 'Show a stack: its images, service, template and the apps that use it',
    async run({ values, positionals, io, services, caller }) {
      const name = parseStackName(positionals[0]);
      const builtin = BUILTIN_STACKS.find((s) => s.name === name);
      if (builtin) {
        const image = services.config.stackImages[builtin.name as keyof typeof services.config.stackImages];
        const info = { name, builtin: true, published: true, description: builtin.description, image, needs: builtin.needs };
        if (values.json) return writeJson(io.stdout, info);
        io.stdout.write(
          `${HEADING}${name} (built-in)\n${table([
            ['Description:', builtin.description],
            ['Base image:', image],
            ['Detects:', builtin.needs.replace(/^add /, '')],
          ]).replace(/^(?=.)/gm, '       ')}`,
        );
        return;
      }
      const stack = getStack(services.store, caller, name);
      const apps = services.store.apps.usingStack(stack.name).filter((a) => {
        const app = services.store.apps.find(a);
        return app !== undefined && mayUseApp(services.store, app.name, caller);
      });
      if (values.json) return writeJson(io.stdout, { ...stackSummary(stack), apps });
      const d = stack.definition;
      const s = d.service;
      const limits = (mem: number | null, cpus: number | null): string =>
        [mem !== null ? `${mem}M` : '', cpus !== null ? `${cpus} CPU` : ''].filter(Boolean).join(', ') || 'no limits';
      const rows = [
        ['Description:', d.description || '-'],
        ['State:', `${stack.published ? 'published' : 'unpublished'}, created by ${stack.creator}`],
        ['Template:', d.template ? `${d.template.type} ${d.template.uri}` : '-'],
        ['Tags:', d.tags.join(', ') || '-'],
        ['Languages:', d.languages.map((l) => l.name + (l.version ? ` ${l.version}` : '')).join(', ') || '-'],
        ['Frameworks:', d.frameworks.map((l) => l.name + (l.version ? ` ${l.version}` : '')).join(', ') || '-'],
        ['Build image:', `${s.build.image} (${limits(s.build.memoryMb, s.build.cpus)})`],
        ['Verify image:', s.verify ? `${s.verify.image} (${limits(s.verify.memoryMb, s.verify.cpus)})` : '-'],
        ['Runs:', `${s.name}: ${s.instances} instance${s.instances === 1 ? '' : 's'}, ${limits(s.memoryMb, s.cpus)}${s.expose ? `, port ${s.expose}` : ''}`],
        ['Health:', s.health.map((h) => (h.protocol === 'COMMAND' ? `COMMAND ${h.command}` : `HTTP ${h.path}`)).join('; ') || '-'],
        ['Apps:', apps.join(', ') || '-'],
      ];
      io.stdout.write(`${HEADING}${stack.name}\n${table(rows).replace(/^(?=.)/gm, '       ')}`);
    },
  },
  {
    name: 'stacks:publish',
    usage: 'NAME',
    summary: 'Let every user create apps with the stack and push to them',
    audit: offApp(({ positionals }) => ({ stack: positionals[0] })),
    async run(ctx) {
      const { stack } = publishStack(ctx, ctx.positionals[0], true);
      ctx.io.stdout.write(`${STEP}Published the ${stack.name} stack: every user can use it now\n`);
    },
  },
  {
    name: 'stacks:unpublish',
    usage: 'NAME',
    summary: 'Make the stack usable by its creator alone again: others can no longer push to its apps',
    audit: offApp(({ positionals }) => ({ stack: positionals[0] })),
    async run(ctx) {
      const { stack, apps } = publishStack(ctx, ctx.positionals[0], false);
      ctx.io.stdout.write(`${STEP}Unpublished the ${stack.name} stack: only ${stack.creator} can use it`);
      ctx.io.stdout.write(apps.length ? `; pushes to ${apps.join(', ')} by anyone else are refused until it is published again\n` : '\n');
    },
  },
  {
    name: 'stacks:remove',
    usage: 'NAME',
    summary: 'Remove a stack that no app uses',
    audit: offApp(({ positionals }) => ({ stack: positionals[0] })),
    async run(ctx) {
      const stack = removeStack(ctx, ctx.positionals[0]);
      ctx.io.stdout.write(`${STEP}Removed the ${stack.name} stack\n`);
    },
  },
  {
    name: 'stacks:dockerfile',
    usage: 'APP',
    summary: "Print the Dockerfile the app's last pushed commit builds with, to read or copy",
    async run({ positionals, io, services, caller }) {
      const d = await dockerfileOf({ services, caller, signal: io.signal }, positionals[0]);
      io.stdout.write(`# ${d.app} at ${d.commit.slice(0, 7)} builds with ${d.why}\n${d.dockerfile}`);
    },
  },
];
