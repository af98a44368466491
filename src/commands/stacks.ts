import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUILTIN_STACKS } from '../builder/stacks.js';
import { DEPLOY_BRANCHES } from '../domain/deploy-branch.js';
import { parseStackfile, STACK_NAME_PATTERN } from '../domain/stackfile.js';
import { printable } from '../domain/app-name.js';
import { BuildFailedError, DeniedError, InvalidError, NotFoundError, ConflictError } from '../errors.js';
import { isBuiltinStack, resolveAppStack } from '../pipeline/app-stack.js';
import { checkout } from '../pipeline/checkout.js';
import { runGit } from '../git/run-git.js';
import type { Stack } from '../store/store.js';
import { parseCommandArgs, table, writeJson } from './args.js';
import { getApp, mayUse } from './app-lifecycle.js';
import type { Caller, CommandContext, CommandSpec, Services } from './command.js';
import { readAll } from './read-all.js';

const MAX_STACKFILE = 64 * 1024;

/** Everyone sees published stacks; creators and admins see unpublished ones too. */
function visible(stack: Stack, caller: Caller): boolean {
  return stack.published || caller.admin || stack.creator === caller.user;
}

function parseStackName(name: string | undefined): string {
  if (!name || !STACK_NAME_PATTERN.test(name)) throw new InvalidError(`invalid stack name '${printable(name ?? '')}'; see stacks for their names`);
  return name;
}

/** A stackfile stack the caller may see; built-in stacks cannot be changed. */
function findStack(services: Services, caller: Caller, name: string | undefined): Stack {
  const stackName = parseStackName(name);
  if (isBuiltinStack(stackName)) throw new InvalidError(`${stackName} is a built-in stack and cannot be changed; define your own with stacks:create`);
  const stack = services.store.stacks.find(stackName);
  if (!stack || !visible(stack, caller)) throw new NotFoundError(`no stack named '${stackName}'; see stacks for the ones you may use`);
  return stack;
}

/** Changing a stack is for its creator and admins. */
function findOwnStack(services: Services, caller: Caller, name: string | undefined): Stack {
  const stack = findStack(services, caller, name);
  if (!caller.admin && stack.creator !== caller.user) throw new DeniedError(`access denied: only the creator of the ${stack.name} stack (${stack.creator}) or an admin may change it`);
  return stack;
}

async function readStackfile(ctx: CommandContext, command: string): Promise<{ source: string; definition: ReturnType<typeof parseStackfile> }> {
  if (ctx.io.stdin.readableEnded) throw new InvalidError(`send the stackfile on stdin: ssh … ${command} < stackfile.yml`);
  const source = await readAll(ctx.io.stdin, MAX_STACKFILE + 1, ctx.io.signal);
  if (source.trim() === '') throw new InvalidError(`send the stackfile on stdin: ssh … ${command} < stackfile.yml`);
  return { source, definition: parseStackfile(source) };
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
    async run({ args, io, services, caller }) {
      const { values } = parseCommandArgs('stacks', '[--json]', args, { json: { type: 'boolean' } }, { min: 0, max: 0 });
      const images = services.config.stackImages;
      const builtin = BUILTIN_STACKS.map((s) => ({ name: s.name, builtin: true, published: true, creator: null, image: images[s.name as keyof typeof images], description: s.description }));
      const defined = services.store.stacks
        .list()
        .filter((s) => visible(s, caller))
        .map((s) => ({ name: s.name, builtin: false, published: s.published, creator: s.creator, image: s.definition.service.build.image, description: s.definition.description }));
      const stacks = [...builtin, ...defined];
      if (values.json) return writeJson(io.stdout, stacks);
      const rows = stacks.map((s) => [s.name, s.builtin ? 'built-in' : s.published ? 'published' : 'unpublished', s.creator ?? '-', s.image, s.description]);
      io.stdout.write(`=====> Stacks\n${table([['NAME', 'STATE', 'CREATOR', 'IMAGE', 'DESCRIPTION'], ...rows])}`);
    },
  },
  {
    name: 'stacks:create',
    usage: '< stackfile.yml',
    summary: 'Define a stack from a stackfile.yml on stdin; it starts unpublished (only you can use it)',
    // A stack's build image runs with a Docker API (one that may only build $IMAGE) and
    // every app on it runs its images: which images those are is an admin's choice.
    adminOnly: true,
    async run(ctx) {
      parseCommandArgs('stacks:create', '< stackfile.yml', ctx.args, {}, { min: 0, max: 0 });
      const { source, definition } = await readStackfile(ctx, 'stacks:create');
      const stack = ctx.services.store.stacks.create(definition, source, ctx.caller.user);
      ctx.io.stdout.write(`-----> Created the ${stack.name} stack, unpublished: only you can use it until stacks:publish ${stack.name}\n`);
    },
  },
  {
    name: 'stacks:update',
    usage: '< stackfile.yml',
    summary: 'Replace a stack’s definition with the stackfile.yml on stdin (its name says which); the next push uses it',
    adminOnly: true,
    async run(ctx) {
      parseCommandArgs('stacks:update', '< stackfile.yml', ctx.args, {}, { min: 0, max: 0 });
      const { source, definition } = await readStackfile(ctx, 'stacks:update');
      const stack = findOwnStack(ctx.services, ctx.caller, definition.name);
      ctx.services.store.stacks.update(definition, source);
      const apps = ctx.services.store.apps.usingStack(stack.name);
      ctx.io.stdout.write(`-----> Updated the ${stack.name} stack${apps.length ? `; ${apps.length} app${apps.length === 1 ? '' : 's'} use${apps.length === 1 ? 's' : ''} it from the next push` : ''}\n`);
    },
  },
  {
    name: 'stacks:info',
    usage: 'NAME [--json]',
    summary: 'Show a stack: its images, service, template and the apps that use it',
    async run({ args, io, services, caller }) {
      const { positionals, values } = parseCommandArgs('stacks:info', 'NAME [--json]', args, { json: { type: 'boolean' } }, { min: 1, max: 1 });
      const name = parseStackName(positionals[0]);
      const builtin = BUILTIN_STACKS.find((s) => s.name === name);
      if (builtin) {
        const image = services.config.stackImages[builtin.name as keyof typeof services.config.stackImages];
        const info = { name, builtin: true, published: true, description: builtin.description, image, needs: builtin.needs };
        if (values.json) return writeJson(io.stdout, info);
        io.stdout.write(`=====> ${name} (built-in)\n${table([['Description:', builtin.description], ['Base image:', image], ['Detects:', builtin.needs.replace(/^add /, '')]]).replace(/^(?=.)/gm, '       ')}`);
        return;
      }
      const stack = findStack(services, caller, name);
      const apps = services.store.apps.usingStack(stack.name).filter((a) => {
        const app = services.store.apps.find(a);
        return app !== undefined && mayUse(services, caller, app);
      });
      if (values.json) return writeJson(io.stdout, { ...stackSummary(stack), apps });
      const d = stack.definition;
      const s = d.service;
      const limits = (mem: number | null, cpus: number | null): string => [mem !== null ? `${mem}M` : '', cpus !== null ? `${cpus} CPU` : ''].filter(Boolean).join(', ') || 'no limits';
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
      io.stdout.write(`=====> ${stack.name}\n${table(rows).replace(/^(?=.)/gm, '       ')}`);
    },
  },
  {
    name: 'stacks:publish',
    usage: 'NAME',
    summary: 'Let every user create apps with the stack and push to them',
    async run({ args, io, services, caller }) {
      const { positionals } = parseCommandArgs('stacks:publish', 'NAME', args, {}, { min: 1, max: 1 });
      const stack = findOwnStack(services, caller, positionals[0]);
      services.store.stacks.setPublished(stack.name, true);
      io.stdout.write(`-----> Published the ${stack.name} stack: every user can use it now\n`);
    },
  },
  {
    name: 'stacks:unpublish',
    usage: 'NAME',
    summary: 'Make the stack usable by its creator alone again: others can no longer push to its apps',
    async run({ args, io, services, caller }) {
      const { positionals } = parseCommandArgs('stacks:unpublish', 'NAME', args, {}, { min: 1, max: 1 });
      const stack = findOwnStack(services, caller, positionals[0]);
      services.store.stacks.setPublished(stack.name, false);
      const apps = services.store.apps.usingStack(stack.name);
      io.stdout.write(`-----> Unpublished the ${stack.name} stack: only ${stack.creator} can use it`);
      io.stdout.write(apps.length ? `; pushes to ${apps.join(', ')} by anyone else are refused until it is published again\n` : '\n');
    },
  },
  {
    name: 'stacks:remove',
    usage: 'NAME',
    summary: 'Remove a stack that no app uses',
    async run({ args, io, services, caller }) {
      const { positionals } = parseCommandArgs('stacks:remove', 'NAME', args, {}, { min: 1, max: 1 });
      const stack = findOwnStack(services, caller, positionals[0]);
      const apps = services.store.apps.usingStack(stack.name);
      if (apps.length) {
        throw new ConflictError(`the ${stack.name} stack is used by ${apps.join(', ')}; move them first with apps:stack-update APP STACK (or none)`);
      }
      services.store.stacks.remove(stack.name);
      io.stdout.write(`-----> Removed the ${stack.name} stack\n`);
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
        const r = await runGit(['rev-parse', '--verify', '--quiet', ref], repoDir);
        if (r.stdout.trim()) {
          commit = r.stdout.trim();
          break;
        }
      }
      if (!commit) throw new NotFoundError(`${app.name} has no pushed code yet; push to main first`);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-dockerfile-'));
      try {
        await checkout(repoDir, commit, dir, io.signal);
        const source = { dir, stack: resolveAppStack(services.store, app) };
        for (const builder of services.builders) {
          const why = await builder.detect(source);
          if (why === undefined) continue;
          io.stdout.write(`# ${app.name} at ${commit.slice(0, 7)} builds with ${why}\n${builder.dockerfile(source)}`);
          return;
        }
        throw new BuildFailedError('nothing in this commit tells how to build it: add a Dockerfile, package.json, requirements.txt or index.html');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  },
];
