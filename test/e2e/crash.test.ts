import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FIXTURE_APPS,
  SkiffServer,
  commitAll,
  fixtureRepo,
  httpGet,
  makeKey,
  releasedUrl,
  removeDockerLeftovers,
  tempDir,
  uniqueApp,
  waitFor,
} from '../helpers/skiff.js';

/** SIGKILL the server in the middle of a push; after a restart the platform is consistent. */
describe('a server killed mid-push', () => {
  let server: SkiffServer;
  let key: string;
  const app = uniqueApp('crash');
  let repo: string;
  let url: string;

  beforeAll(async () => {
    server = await SkiffServer.start();
    key = await makeKey(tempDir('keys'), 'admin');
    await server.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
    repo = await fixtureRepo('dockerfile-hello');
    const push = await server.git(key, repo, ['push', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    url = releasedUrl(push.stderr)!;
  });

  afterAll(async () => {
    await server?.cleanup();
    await removeDockerLeftovers([app]);
  });

  async function killDuring(fixture: string, marker: string): Promise<void> {
    fs.copyFileSync(path.join(FIXTURE_APPS, fixture, 'Dockerfile'), path.join(repo, 'Dockerfile'));
    fs.writeFileSync(path.join(repo, 'index.html'), `${fixture}\n`);
    await commitAll(repo, fixture);
    const push = execa('git', ['push', server.remote(app), 'main'], { cwd: repo, env: server.gitEnv(key), reject: false, all: true });
    let seen = '';
    push.all?.on('data', (d: Buffer) => (seen += d.toString()));
    await waitFor(() => seen.includes(marker), 60_000, marker);
    await server.stop('SIGKILL');
    await push;
    await server.launch();
    await execa('git', ['reset', '-q', '--hard', 'HEAD~1'], { cwd: repo });
  }

  async function assertConsistent(): Promise<void> {
    // The previous release answers, the interrupted build is failed, nothing of the new release runs.
    expect(await httpGet(url)).toEqual({ status: 200, body: 'hello from v1\n' });
    const builds = JSON.parse((await server.ssh(key, ['builds', app, '--json'])).stdout) as { status: string }[];
    expect(builds[0].status).toBe('failed');
    expect(builds.some((b) => b.status === 'running')).toBe(false);
    const releases = (await execa('docker', ['ps', '-a', '--filter', `label=skiff.app=${app}`, '--format', '{{.Label "skiff.release"}}'])).stdout;
    expect(releases.trim()).toBe('1');
    const db = new Database(path.join(server.home, 'skiff.db'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
    const doctor = await server.cli(['doctor']);
    expect(doctor.stdout).toContain('ok    database: integrity ok');
  }

  it('during the build', async () => {
    await killDuring('dockerfile-slow', 'slow build started');
    await assertConsistent();
  });

  it('while the new release starts, before the switch', async () => {
    await killDuring('dockerfile-slow-start', 'Starting v');
    await assertConsistent();
  });

  it('and the next push goes through', async () => {
    fs.writeFileSync(path.join(repo, 'index.html'), 'after the crash\n');
    await commitAll(repo, 'after');
    const push = await server.git(key, repo, ['push', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).not.toContain('Waiting');
    expect((await httpGet(url)).body).toBe('after the crash\n');
  });
});
