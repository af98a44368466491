// The pipeline unit suites' shared ground: one app (shop) in a fresh SKIFF_HOME
// per test with the fakes of fakes.ts, a work repository whose commits are
// pushed as the pre-receive hook sees them, and the caller an operation runs as.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { ZERO_SHA } from '../../src/domain/deploy-branch.js';
import type { Services } from '../../src/operations/operation.js';
import type { setConfig } from '../../src/operations/config.js';
import { Progress } from '../../src/output/progress.js';
import { deployPush } from '../../src/pipeline/push.js';
import { fakeServices, type FakeBuilder, type FakeHost, type FakeImages, type FakeRouter } from './fakes.js';

export const APP = 'shop';
export let home: string;
export let work: string;
export let services: Services;
export let images: FakeImages;
export let builder: FakeBuilder;
export let host: FakeHost;
export let router: FakeRouter;
export const caller = { user: 'alice', admin: true, via: 'host' as const };
export const op = (): Parameters<typeof setConfig>[0] => ({
  services,
  caller,
  progress: new Progress([]),
  signal: new AbortController().signal,
  onWait: () => {},
});

export function git(...args: string[]): string {
  return execFileSync('git', args, {
    cwd: work,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
  }).trim();
}

/** A commit of the work repo, pushed as the hook sees it: the branch has not moved yet. */
export function commit(text: string, procfile = 'web: serve\n', files: Record<string, string> = {}): { ref: string; oldSha: string; newSha: string } {
  fs.writeFileSync(path.join(work, 'Dockerfile'), `FROM scratch\n# ${text}\n`);
  fs.writeFileSync(path.join(work, 'Procfile'), procfile);
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(work, name), content);
  git('add', '-A');
  const parent = spawnSync('git', ['rev-parse', '--verify', '--quiet', 'refs/heads/main'], { cwd: work, encoding: 'utf8' }).stdout.trim();
  const newSha = git('commit-tree', git('write-tree'), ...(parent ? ['-p', parent] : []), '-m', text);
  return { ref: 'refs/heads/main', oldSha: parent || ZERO_SHA, newSha };
}

export async function push(text: string, procfile?: string, files?: Record<string, string>): Promise<string> {
  const update = commit(text, procfile, files);
  const url = await deployPush(services, { app: APP, repoDir: work, update, pusher: 'alice', source: 'test' }, new Progress([]), new AbortController().signal);
  // git moves the branch once the hook succeeds.
  git('update-ref', 'refs/heads/main', update.newSha);
  // The lock lasts as long as git's receive-pack, the hook's parent; here the push is over.
  services.store.locks.release(APP, process.ppid);
  return url;
}

beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-unit-'));
  work = path.join(home, 'work');
  fs.mkdirSync(work);
  git('init', '-q', '-b', 'main');
  ({ services, images, builder, host, router } = fakeServices(home, APP));
});

afterEach(() => {
  fs.rmSync(home, { recursive: true, force: true });
});
