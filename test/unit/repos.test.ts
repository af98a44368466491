import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { DEPLOY_BRANCHES } from '../../src/domain/deploy-branch.js';
import { Repos } from '../../src/git/repos.js';

/** An app's bare repo: HEAD follows the branch that was pushed, so a clone checks it out. */
describe('Repos.fixHead', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-repos-'));
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));
  const repos = new Repos(path.join(home, 'repos'), home);
  const head = async (dir: string): Promise<string> => (await execa('git', ['symbolic-ref', 'HEAD'], { cwd: dir })).stdout;

  it('points HEAD at master when only master was pushed, and leaves it there once it resolves', async () => {
    const bare = await repos.ensure('shop');
    expect(await head(bare)).toBe('refs/heads/main');
    const work = path.join(home, 'work');
    fs.mkdirSync(work);
    const git = (...args: string[]) => execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: work });
    await git('init', '-q', '-b', 'master');
    fs.writeFileSync(path.join(work, 'a'), 'a');
    await git('add', 'a');
    await git('commit', '-qm', 'a');
    // Fetched into the bare repo, not pushed: a push would run Skiff's deploy hook.
    const store = (ref: string) => execa('git', ['fetch', '-q', work, ref], { cwd: bare });
    await store('master:refs/heads/master');

    await repos.fixHead('shop', DEPLOY_BRANCHES);
    expect(await head(bare)).toBe('refs/heads/master');

    // main arriving later does not move a HEAD that resolves.
    await store('master:refs/heads/main');
    await repos.fixHead('shop', DEPLOY_BRANCHES);
    expect(await head(bare)).toBe('refs/heads/master');
  });

  it('leaves HEAD alone while no deploy branch exists', async () => {
    const bare = await repos.ensure('empty');
    await repos.fixHead('empty', DEPLOY_BRANCHES);
    expect(await head(bare)).toBe('refs/heads/main');
  });
});
