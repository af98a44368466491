import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SkiffServer, commitAll, fixtureRepo, httpGet, makeKey, releasedUrl, removeDockerLeftovers, tempDir, uniqueApp, waitFor } from '../helpers/skiff.js';

/** Review apps over the real ssh, git and engine: a branch push makes and deploys one, a branch delete removes it, idleness expires it. */
describe('review apps', () => {
  let server: SkiffServer;
  let key: string;
  const app = uniqueApp('rv');
  let repo: string;

  const git = (args: string[]): ReturnType<SkiffServer['git']> => server.git(key, repo, args);
  const ssh = (args: string[]): ReturnType<SkiffServer['ssh']> => server.ssh(key, args);
  const branch = async (name: string, text: string): Promise<void> => {
    await execa('git', ['checkout', '-q', '-B', name, 'main'], { cwd: repo });
    fs.writeFileSync(path.join(repo, 'index.html'), text);
    await commitAll(repo, text);
  };
  const containers = async (name: string): Promise<string> => (await execa('docker', ['ps', '-aq', '--filter', `label=skiff.app=${name}`])).stdout;

  beforeAll(async () => {
    server = await SkiffServer.start({ SKIFF_DRAIN_SECONDS: '0' });
    key = await makeKey(tempDir('keys'), 'admin');
    await server.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
    repo = await fixtureRepo('dockerfile-env');
    expect((await git(['push', server.remote(app), 'main'])).exitCode).toBe(0);
    expect((await ssh(['config:set', app, 'GREETING=from-the-parent'])).exitCode).toBe(0);
    const on = await ssh(['apps:set', app, 'review-apps', 'on', '--max', '2']);
    expect(on.exitCode, on.stderr).toBe(0);
  });

  afterAll(async () => {
    await server?.cleanup();
    await removeDockerLeftovers([app, `${app}-feat-x`, `${app}-feat-y`, `${app}-feat-z`, `${app}-feat-v`, `${app}-feat-w`]);
  });

  it('deploys a pushed branch as its own app, with the parent’s config, and prints its URL', async () => {
    await branch('feat-x', 'feature x');
    const pushed = await git(['push', server.remote(app), 'feat-x']);
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    expect(pushed.stderr).toContain(`Created review app ${app}-feat-x for feat-x (its config starts as ${app}'s)`);
    const url = releasedUrl(pushed.stderr);
    expect(url).toContain(`${app}-feat-x.`);
    expect((await httpGet(url as string)).body).toContain('feature x');
    expect((await httpGet(`${url}greeting`)).body).toBe('from-the-parent');
    const info = JSON.parse((await ssh(['apps:info', `${app}-feat-x`, '--json'])).stdout);
    expect(info.reviewOf).toEqual({ parent: app, branch: 'feat-x' });
    // The parent still serves main.
    const parent = JSON.parse((await ssh(['apps:info', app, '--json'])).stdout);
    expect((await httpGet(parent.url)).body).not.toContain('feature x');
    expect(parent.reviewApps).toEqual({ max: 2, apps: [{ name: `${app}-feat-x`, branch: 'feat-x' }] });
    // A second push updates the same review app.
    fs.writeFileSync(path.join(repo, 'index.html'), 'feature x, again');
    await commitAll(repo, 'again');
    const again = await git(['push', server.remote(app), 'feat-x']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('Created review app');
    expect((await httpGet(url as string)).body).toContain('feature x, again');
  });

  it('refuses the review app past --max, and a push that would deploy twice, changing nothing', async () => {
    await branch('feat-y', 'feature y');
    expect((await git(['push', server.remote(app), 'feat-y'])).exitCode).toBe(0);
    await branch('feat-z', 'feature z');
    const third = await git(['push', server.remote(app), 'feat-z']);
    expect(third.exitCode).not.toBe(0);
    expect(third.stderr).toContain(`${app} has 2 review apps, its most (apps:set ${app} review-apps on --max N); delete a branch first`);
    expect((await ssh(['apps:info', `${app}-feat-z`])).exitCode).toBe(1);
    await execa('git', ['checkout', '-q', 'main'], { cwd: repo });
    fs.writeFileSync(path.join(repo, 'index.html'), 'main moved');
    await commitAll(repo, 'main moved');
    const both = await git(['push', server.remote(app), 'main', 'feat-z']);
    expect(both.exitCode).not.toBe(0);
    expect(both.stderr).toContain("this push would deploy main and feat-z's review app; push them one at a time");
    const parent = JSON.parse((await ssh(['apps:info', app, '--json'])).stdout);
    expect((await httpGet(parent.url)).body).not.toContain('main moved');
  });

  it('destroys a review app when its branch is deleted', async () => {
    const deleted = await git(['push', server.remote(app), ':feat-x']);
    expect(deleted.exitCode, deleted.stderr).toBe(0);
    expect(deleted.stderr).toContain(`Destroyed review app ${app}-feat-x (feat-x was deleted)`);
    expect((await ssh(['apps:info', `${app}-feat-x`])).exitCode).toBe(1);
    expect(await containers(`${app}-feat-x`)).toBe('');
  });

  it('with review apps off, stores a pushed branch, and still destroys a review app whose branch is deleted', async () => {
    await branch('feat-v', 'feature v');
    expect((await git(['push', server.remote(app), 'feat-v'])).exitCode).toBe(0);
    expect((await ssh(['apps:set', app, 'review-apps', 'off'])).exitCode).toBe(0);
    await branch('feat-w', 'feature w');
    const stored = await git(['push', server.remote(app), 'feat-w']);
    expect(stored.exitCode, stored.stderr).toBe(0);
    expect(stored.stderr).toContain('Storing feat-w');
    expect((await ssh(['apps:info', `${app}-feat-w`])).exitCode).toBe(1);
    const deleted = await git(['push', server.remote(app), ':feat-v']);
    expect(deleted.stderr).toContain(`Destroyed review app ${app}-feat-v (feat-v was deleted)`);
    expect((await ssh(['apps:set', app, 'review-apps', 'on', '--max', '2'])).exitCode).toBe(0);
  });

  it('is destroyed by the server after SKIFF_REVIEW_APPS_TTL_DAYS without a push, with an event', async () => {
    await server.stop();
    // A few seconds, in days.
    server.env.SKIFF_REVIEW_APPS_TTL_DAYS = String(4 / 86_400);
    await server.launch();
    await waitFor(async () => (await ssh(['apps:info', `${app}-feat-y`])).exitCode === 1, 30_000, 'the review app to expire');
    expect(await containers(`${app}-feat-y`)).toBe('');
    const events = JSON.parse((await ssh(['events', `${app}-feat-y`, '-n', '1', '--json'])).stdout) as {
      action: string;
      user: string;
      detail: Record<string, unknown>;
    }[];
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: 'apps:destroy', user: 'skiff', detail: { review: true, branch: 'feat-y' } });
    // The parent stays.
    expect((await ssh(['apps:info', app])).exitCode).toBe(0);
  });
});
