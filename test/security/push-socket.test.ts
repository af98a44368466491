import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepo } from '../helpers/skiff.js';
import { Tenants } from '../helpers/tenants.js';

/**
 * Attack: the hook forwards a push to the server with who pushes and git's
 * quarantine taken from its environment. Set those variables from the SSH
 * client (SetEnv) so that the server runs the push as the victim, or lets
 * git read objects from elsewhere; or reach the socket from an app.
 */
describe("the hook's socket takes only what Skiff's door and git set", () => {
  let t: Tenants;
  let app: string;

  beforeAll(async () => {
    t = await Tenants.start();
    app = t.app('forward');
  });
  afterAll(async () => t?.cleanup());

  it('runs a push as its key’s user whatever variables the client sends', async () => {
    const repo = await fixtureRepo('dockerfile-hello');
    const env = t.server.gitEnv(t.keys.mallory);
    const forged = ['SKIFF_USER=victim', 'SKIFF_SOURCE=host', 'GIT_OBJECT_DIRECTORY=/etc', 'GIT_ALTERNATE_OBJECT_DIRECTORIES=/tmp'];
    env.GIT_SSH_COMMAND += forged.map((v) => ` -o SetEnv=${v}`).join('');
    const push = await execa('git', ['push', t.server.remote(app), 'main'], { cwd: repo, env, reject: false });
    expect(push.exitCode, push.stderr).toBe(0);
    const db = new Database(path.join(t.server.home, 'skiff.db'), { readonly: true });
    const build = db.prepare('SELECT pusher, status FROM builds WHERE app = ?').get(app) as { pusher: string; status: string };
    const owner = db.prepare('SELECT created_by FROM apps WHERE name = ?').get(app) as { created_by: string } | undefined;
    db.close();
    expect(build).toEqual({ pusher: 'mallory', status: 'succeeded' });
    expect(owner?.created_by).toBe('mallory');
    expect((await t.ssh('victim', ['apps:info', app])).exitCode).toBe(1);
  });

  it('keeps the socket its owner’s, and out of the apps’ reach', async () => {
    const socket = path.join(t.server.home, 'push.sock');
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600);
    const run = await t.ssh('mallory', ['run', app, 'sh', '-c', `'ls ${socket} ${t.server.home} 2>&1; echo done'`]);
    expect(run.stdout).toContain('done');
    expect(run.stdout).toMatch(/No such file or directory/);
  });
});
