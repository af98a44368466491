import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEPLOY_BRANCHES } from '../domain/deploy-branch.js';
import { parseStackName, parseStackfile } from '../domain/stackfile.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import { chooseBuilder } from '../pipeline/build.js';
import { checkout } from '../pipeline/checkout.js';
import { getOwnStack, getApp, resolveAppStack } from '../access/policy.js';
import type { Stack } from '../domain/entities.js';
import type { Op, Ask } from './operation.js';

/** stacks:create (admins): a stack from a stackfile's text; it starts unpublished. */
export function createStack({ services, caller }: Ask, source: string): Stack {
  return services.store.stacks.create(parseStackfile(source), source, caller.user);
}

/** stacks:update: the stackfile's name says which stack; returns the apps that use it from their next push. */
export function updateStack({ services, caller }: Ask, source: string): { stack: Stack; apps: string[] } {
  const definition = parseStackfile(source);
  const stack = getOwnStack(services.store, caller, definition.name);
  services.store.stacks.update(definition, source);
  return { stack, apps: services.store.apps.usingStack(stack.name) };
}

/** stacks:publish and stacks:unpublish; returns the apps on the stack. */
export function publishStack({ services, caller }: Ask, name: string, published: boolean): { stack: Stack; apps: string[] } {
  const stack = getOwnStack(services.store, caller, parseStackName(name));
  services.store.stacks.setPublished(stack.name, published);
  return { stack, apps: services.store.apps.usingStack(stack.name) };
}

/** stacks:remove: only a stack no app uses. */
export function removeStack({ services, caller }: Ask, name: string): Stack {
  const stack = getOwnStack(services.store, caller, parseStackName(name));
  const apps = services.store.apps.usingStack(stack.name);
  if (apps.length) {
    throw new ConflictError(`the ${stack.name} stack is used by ${apps.join(', ')}; move them first with apps:stack-update APP STACK (or none)`);
  }
  services.store.stacks.remove(stack.name);
  return stack;
}

/** stacks:dockerfile: what the app's last pushed commit builds with, chosen as a push chooses it. */
export async function dockerfileOf(
  op: Pick<Op, 'services' | 'caller' | 'signal'>,
  appName: string,
): Promise<{ app: string; commit: string; why: string; dockerfile: string }> {
  const { services, caller } = op;
  const app = getApp(services, caller, appName);
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
    await checkout(repoDir, commit, dir, op.signal);
    const source = { dir, stack: resolveAppStack(services.store, app) };
    const { builder, why } = await chooseBuilder(services.builders, source);
    return { app: app.name, commit, why, dockerfile: builder.dockerfile(source) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
