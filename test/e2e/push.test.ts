import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SkiffServer,
  commitAll,
  fixtureRepo,
  httpGet,
  makeKey,
  releasedUrl,
  removeDockerLeftovers,
  tempDir,
  uniqueApp,
  FIXTURE_APPS,
  waitFor,
} from '../helpers/skiff.js';

/**
 * The core promise, end to end: `skiff server` on loopback, the real OpenSSH
 * client and the real git, a real Docker engine.
 */
describe('git push over SSH', () => {
  let server: SkiffServer;
  let keys: string;
  let admin: string;
  let user: string;
  const app = uniqueApp('hello');
  const apps = [app];
  let repo: string;
  let lastGoodUrl: string;
  let lastGoodSha: string;

  const headSha = async (dir: string): Promise<string> => (await execa('git', ['rev-parse', 'HEAD'], { cwd: dir })).stdout.trim();
  const remoteSha = async (name: string): Promise<string> =>
    (await server.git(admin, repo, ['ls-remote', server.remote(name), 'refs/heads/main'])).stdout.split('\t')[0];

  beforeAll(async () => {
    server = await SkiffServer.start();
    keys = tempDir('keys');
    admin = await makeKey(keys, 'admin');
    user = await makeKey(keys, 'user');
    const added = await server.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${admin}.pub`, 'utf8'));
    expect(added.exitCode, added.stderr).toBe(0);
    const addedUser = await server.cli(['keys:add', 'bob'], fs.readFileSync(`${user}.pub`, 'utf8'));
    expect(addedUser.exitCode, addedUser.stderr).toBe(0);
    repo = await fixtureRepo('dockerfile-hello');
    await execa('git', ['remote', 'add', 'paas', server.remote(app)], { cwd: repo });
  });

  afterAll(async () => {
    if (server) {
      if (process.env.SKIFF_TEST_DEBUG) console.log(server.output);
      await server.cleanup();
    }
    await removeDockerLeftovers(apps);
  });

  it('creates the app on first push, streams the build, and serves it at the URL it prints', async () => {
    const push = await server.git(admin, repo, ['push', 'paas', 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toContain(`remote: -----> Created app ${app}`);
    expect(push.stderr).toMatch(/remote: -----> Building image/);
    expect(push.stderr).toMatch(/remote: +Step \d+\/\d+ : FROM/);
    expect(push.stderr).toMatch(/remote: -----> Starting v1/);
    const url = releasedUrl(push.stderr);
    expect(url).toBe(`http://${app}.localhost:${server.routerPort}/`);
    expect(await httpGet(url!)).toEqual({ status: 200, body: 'hello from v1\n' });
    lastGoodUrl = url!;
    lastGoodSha = await headSha(repo);
  });

  it('serves a new push at the same URL and stops the old release', async () => {
    fs.writeFileSync(path.join(repo, 'index.html'), 'hello from v2\n');
    await commitAll(repo, 'v2');
    const push = await server.git(admin, repo, ['push', 'paas', 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toContain('stopped v1');
    const url = releasedUrl(push.stderr)!;
    expect(url).toBe(lastGoodUrl);
    expect(await httpGet(url)).toEqual({ status: 200, body: 'hello from v2\n' });
    const running = (await execa('docker', ['ps', '--filter', `label=skiff.app=${app}`, '--format', '{{.Label "skiff.release"}}'])).stdout;
    expect(running.trim()).toBe('2');
    lastGoodUrl = url;
    lastGoodSha = await headSha(repo);

    // The hook handed the push to the server over its socket: the server's own process ran it.
    const db = new Database(path.join(server.home, 'skiff.db'), { readonly: true });
    expect((db.prepare('SELECT pid FROM builds WHERE app = ? ORDER BY id DESC LIMIT 1').get(app) as { pid: number }).pid).toBe(server.pid);
    db.close();

    const releases = await server.ssh(admin, ['releases', app]);
    expect(releases.exitCode).toBe(0);
    expect(releases.stdout).toMatch(/\* v2 +deployed +Deploy [0-9a-f]{7} +alice/);
    expect(releases.stdout).toMatch(/ {2}v1 +deployed/);

    // Where the push's time went, step by step, from the hook's start to retiring v1.
    const info = await server.ssh(admin, ['builds:info', app, '--json']);
    expect(info.exitCode, info.stderr).toBe(0);
    const build = JSON.parse(info.stdout) as { status: string; timings: { step: string; depth: number; ms: number }[] };
    expect(build.status).toBe('succeeded');
    const steps = build.timings.map((t) => t.step);
    for (const step of [
      'hook start',
      'lock',
      'Checking out',
      'manifests',
      'Building image',
      'base images',
      'docker build',
      'Releasing',
      'Starting v2',
      'instances',
      'start web.1',
      'health web.1',
      'switch',
      'retire',
    ])
      expect(steps, step).toContain(step);
    expect(build.timings.find((t) => t.step === 'docker build')?.depth).toBe(1);
    expect(build.timings.find((t) => t.step === 'hook start')?.ms).toBeGreaterThan(0);
    const shown = await server.ssh(admin, ['builds:info', app]);
    expect(shown.stdout).toMatch(/Status: +succeeded/);
    expect(shown.stdout).toMatch(/^ {2}docker build +\d+\.\d{3}s$/m);
  });

  it('rejects a push whose build fails; the ref stays and the previous release keeps serving', async () => {
    fs.copyFileSync(path.join(FIXTURE_APPS, 'dockerfile-broken', 'Dockerfile'), path.join(repo, 'Dockerfile'));
    await commitAll(repo, 'broken build');
    const push = await server.git(admin, repo, ['push', 'paas', 'main']);
    expect(push.exitCode).not.toBe(0);
    expect(push.stderr).toContain('about to fail');
    expect(push.stderr).toMatch(/remote:  ! +Push rejected: docker build failed: .*returned a non-zero code: 3/);
    expect(push.stderr).toContain('pre-receive hook declined');
    expect(await remoteSha(app)).toBe(lastGoodSha);
    expect(await httpGet(lastGoodUrl)).toEqual({ status: 200, body: 'hello from v2\n' });

    const builds = await server.ssh(admin, ['builds', app]);
    expect(builds.stdout.split('\n')[1]).toMatch(/^\d+ +failed +[0-9a-f]{7} +alice/);
    const output = await server.ssh(admin, ['builds:output', app]);
    expect(output.exitCode).toBe(0);
    expect(output.stdout).toContain('about to fail');
    expect(output.stdout).toContain('Push rejected: docker build failed');
  });

  it("says in one line which base image could not be had, rather than the engine's pull error", async () => {
    // A registry on a loopback port nothing listens on: the engine's pull is refused at once, and stays on this host.
    fs.writeFileSync(path.join(repo, 'Dockerfile'), 'FROM 127.0.0.1:9/skiff-none:1\nCOPY index.html /www/index.html\n');
    await commitAll(repo, 'a base image nobody has');
    const push = await server.git(admin, repo, ['push', 'paas', 'main']);
    expect(push.exitCode).not.toBe(0);
    expect(push.stderr).toMatch(
      /remote:  ! +Push rejected: the base image 127\.0\.0\.1:9\/skiff-none:1 is not on this host and could not be pulled; build FROM an image your Docker engine has, or load it there first/,
    );
    expect(await remoteSha(app)).toBe(lastGoodSha);
    await execa('git', ['reset', '-q', '--hard', 'HEAD~1'], { cwd: repo });
  });

  it('abandons a release that exits before it answers, showing its output', async () => {
    fs.copyFileSync(path.join(FIXTURE_APPS, 'dockerfile-crashes', 'Dockerfile'), path.join(repo, 'Dockerfile'));
    await commitAll(repo, 'crashes at start');
    const push = await server.git(admin, repo, ['push', 'paas', 'main']);
    expect(push.exitCode).not.toBe(0);
    expect(push.stderr).toContain('crashing on purpose');
    expect(push.stderr).toMatch(/exited with status 4 before it answered HTTP; the previous release keeps serving/);
    expect(await remoteSha(app)).toBe(lastGoodSha);
    expect(await httpGet(lastGoodUrl)).toEqual({ status: 200, body: 'hello from v2\n' });
    const containers = (await execa('docker', ['ps', '-a', '--filter', `label=skiff.app=${app}`, '--format', '{{.Label "skiff.release"}}'])).stdout;
    expect(containers.trim().split('\n')).toEqual(['2']);
    const releases = await server.ssh(admin, ['releases', app, '--json']);
    const list = JSON.parse(releases.stdout) as { version: number; status: string; current: boolean }[];
    expect(list.map((r) => [r.version, r.status, r.current])).toEqual([
      [3, 'failed', false],
      [2, 'deployed', true],
      [1, 'deployed', false],
    ]);
    // Back to the good tree for the tests after this one.
    await execa('git', ['reset', '-q', '--hard', lastGoodSha], { cwd: repo });
  });

  it('clones the repo back at the deployed commit, for a user the app is shared with', async () => {
    const dir = tempDir('clone');
    expect((await server.ssh(admin, ['access:add', app, 'bob'])).exitCode).toBe(0);
    const clone = await server.git(user, dir, ['clone', '-q', server.remote(app), 'copy']);
    expect(clone.exitCode, clone.stderr).toBe(0);
    expect(await headSha(path.join(dir, 'copy'))).toBe(lastGoodSha);
    expect(fs.readFileSync(path.join(dir, 'copy', 'index.html'), 'utf8')).toBe('hello from v2\n');
  });

  it('refuses a non-fast-forward push without --force, as git does', async () => {
    const dir = tempDir('diverged');
    await server.git(admin, dir, ['clone', '-q', server.remote(app), 'work']);
    const work = path.join(dir, 'work');
    await execa('git', ['reset', '-q', '--hard', 'HEAD~1'], { cwd: work });
    fs.writeFileSync(path.join(work, 'index.html'), 'diverged\n');
    await commitAll(work, 'diverged');
    const push = await server.git(admin, work, ['push', 'origin', 'main']);
    expect(push.exitCode).not.toBe(0);
    expect(push.stderr).toMatch(/non-fast-forward|fetch first|rejected/);
    expect(push.stderr).not.toContain('Building image');
    expect(await remoteSha(app)).toBe(lastGoodSha);
  });

  it('stores pushes to other branches without deploying', async () => {
    await execa('git', ['checkout', '-q', '-b', 'feature'], { cwd: repo });
    fs.writeFileSync(path.join(repo, 'index.html'), 'feature\n');
    await commitAll(repo, 'feature');
    const push = await server.git(admin, repo, ['push', 'paas', 'feature']);
    await execa('git', ['checkout', '-q', 'main'], { cwd: repo });
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toContain('Storing feature (only main or master deploys)');
    expect(push.stderr).not.toContain('Building image');
    expect(await httpGet(lastGoodUrl)).toEqual({ status: 200, body: 'hello from v2\n' });
  });

  it('serializes two pushes to the same app: the second waits, says so, and is refused once main moved', async () => {
    const dir = tempDir('race');
    for (const name of ['a', 'b']) {
      await server.git(admin, dir, ['clone', '-q', server.remote(app), name]);
      fs.writeFileSync(path.join(dir, name, 'index.html'), `race ${name}\n`);
      await commitAll(path.join(dir, name), `race ${name}`);
    }
    const [a, b] = await Promise.all([
      server.git(admin, path.join(dir, 'a'), ['push', 'origin', 'main']),
      new Promise((r) => setTimeout(r, 300)).then(() => server.git(admin, path.join(dir, 'b'), ['push', 'origin', 'main'])),
    ]);
    const outcomes = [a, b].sort((x, y) => x.exitCode - y.exitCode);
    expect(outcomes[0].exitCode, outcomes[0].stderr).toBe(0);
    expect(outcomes[1].exitCode).not.toBe(0);
    expect(outcomes[1].stderr).toMatch(/Waiting for the deploy of .* by alice/);
    expect(outcomes[1].stderr).toMatch(/main moved to [0-9a-f]{7} while this push waited; pull, then push again/);
    const winner = outcomes[0] === a ? 'a' : 'b';
    const url = releasedUrl(outcomes[0].stderr)!;
    expect(await httpGet(url)).toEqual({ status: 200, body: `race ${winner}\n` });
    expect(await remoteSha(app)).toBe(await headSha(path.join(dir, winner)));
    lastGoodUrl = url;
  });

  it('deploys two apps at once, neither waiting for the other', async () => {
    const [one, two] = [uniqueApp('pair'), uniqueApp('pair')];
    apps.push(one, two);
    const repos = await Promise.all([
      fixtureRepo('dockerfile-hello', (d) => fs.writeFileSync(path.join(d, 'index.html'), 'one\n')),
      fixtureRepo('dockerfile-hello', (d) => fs.writeFileSync(path.join(d, 'index.html'), 'two\n')),
    ]);
    const pushes = await Promise.all([
      server.git(admin, repos[0], ['push', server.remote(one), 'main']),
      server.git(admin, repos[1], ['push', server.remote(two), 'main']),
    ]);
    for (const p of pushes) {
      expect(p.exitCode, p.stderr).toBe(0);
      expect(p.stderr).not.toContain('Waiting');
    }
    expect((await httpGet(releasedUrl(pushes[0].stderr)!)).body).toBe('one\n');
    expect((await httpGet(releasedUrl(pushes[1].stderr)!)).body).toBe('two\n');
  });

  it('leaves nothing running or locked when the pusher disconnects mid-build', async () => {
    const slowApp = uniqueApp('slow');
    apps.push(slowApp);
    const slow = await fixtureRepo('dockerfile-slow');
    // Its own process group, so that git and the ssh under it die together, as when a laptop drops off.
    const child = execa('git', ['push', server.remote(slowApp), 'main'], { cwd: slow, env: server.gitEnv(admin), reject: false, all: true, detached: true });
    let seen = '';
    child.all?.on('data', (d: Buffer) => (seen += d.toString()));
    await waitFor(
      () => seen.includes('slow build started'),
      60_000,
      () => seen,
    );
    process.kill(-child.pid!, 'SIGKILL');
    await child;
    // The build is marked failed, the lock is free, and no container of the app exists.
    await waitFor(async () => (await server.ssh(admin, ['builds', slowApp])).stdout.match(/^\d+ +failed/m) !== null, 30_000, 'the build to be marked failed');
    // The build's step container carries the app's label too (it is set right after FROM); the engine removes it once the build is cancelled.
    const containers = async (): Promise<string> => (await execa('docker', ['ps', '-a', '--filter', `label=skiff.app=${slowApp}`, '-q'])).stdout.trim();
    await waitFor(async () => (await containers()) === '', 30_000, "the app's containers (the build's step container) to be gone");
    const destroy = await server.ssh(admin, ['apps:destroy', slowApp, '--confirm', slowApp]);
    expect(destroy.stderr).not.toContain('Waiting');
    expect(destroy.exitCode, destroy.stderr).toBe(0);
  });

  it("runs an SSH push in the server through git's own pipes, with no hook process of node's and no push socket", async () => {
    expect((await server.git(admin, repo, ['fetch', 'paas', 'main'])).exitCode).toBe(0);
    await execa('git', ['reset', '-q', '--hard', 'FETCH_HEAD'], { cwd: repo });
    // Without the socket a node hook would run the push in its own process (the test below): the door's pair needs none.
    fs.rmSync(path.join(server.home, 'push.sock'));
    try {
      fs.writeFileSync(path.join(repo, 'index.html'), 'pushed through the pair\n');
      await commitAll(repo, 'pair');
      const push = await server.git(admin, repo, ['push', 'paas', 'main']);
      expect(push.exitCode, push.stderr).toBe(0);
      expect(push.stderr).toMatch(/remote: -----> Starting v\d+/);
      expect(await httpGet(lastGoodUrl)).toEqual({ status: 200, body: 'pushed through the pair\n' });
      const db = new Database(path.join(server.home, 'skiff.db'), { readonly: true });
      const build = db.prepare('SELECT pid, pusher FROM builds WHERE app = ? ORDER BY id DESC LIMIT 1').get(app) as { pid: number; pusher: string };
      db.close();
      expect(build.pid).toBe(server.pid);
      expect(build.pusher).toBe('alice');
      // A refused build says so through the pair too, with git's own rejection, and the release before keeps serving.
      fs.writeFileSync(path.join(repo, 'Dockerfile'), 'FROM skiff-test/base:bookworm\nRUN exit 3\n');
      await commitAll(repo, 'broken');
      const broken = await server.git(admin, repo, ['push', 'paas', 'main']);
      expect(broken.exitCode).not.toBe(0);
      expect(broken.stderr).toMatch(/remote: +!\s+Push rejected/);
      expect(broken.stderr).toMatch(/\[remote rejected\] main -> main \(pre-receive hook declined\)/);
      expect(await httpGet(lastGoodUrl)).toEqual({ status: 200, body: 'pushed through the pair\n' });
      await execa('git', ['reset', '-q', '--hard', 'HEAD~1'], { cwd: repo });
    } finally {
      // The socket comes back with the server, for the host's pushes.
      await server.stop();
      await server.launch();
    }
  });

  it('runs a push in the hook itself when no server answers (a stale socket), and hands them to the server again once it is back', async () => {
    // Other tests moved main from other clones: start from where it is.
    expect((await server.git(admin, repo, ['fetch', 'paas', 'main'])).exitCode).toBe(0);
    await execa('git', ['reset', '-q', '--hard', 'FETCH_HEAD'], { cwd: repo });
    await server.stop('SIGKILL');
    expect(fs.existsSync(path.join(server.home, 'push.sock'))).toBe(true);
    try {
      fs.writeFileSync(path.join(repo, 'index.html'), 'pushed with no server\n');
      await commitAll(repo, 'no server');
      // The admin on the host, straight into the app's repo: git runs the hook, and no server answers it.
      const push = await execa('git', ['push', path.join(server.home, 'repos', `${app}.git`), 'HEAD:main'], {
        cwd: repo,
        env: { SKIFF_HOME: server.home },
        reject: false,
      });
      expect(push.exitCode, push.stderr).toBe(0);
      expect(push.stderr).toMatch(/remote: -----> Starting v\d+/);
      const db = new Database(path.join(server.home, 'skiff.db'), { readonly: true });
      const build = db.prepare('SELECT pid, pusher FROM builds WHERE app = ? ORDER BY id DESC LIMIT 1').get(app) as { pid: number; pusher: string };
      db.close();
      expect(build.pid).not.toBe(server.pid);
      expect(build.pusher).toBe('admin (host)');
    } finally {
      await server.launch();
    }
    // What the hook released is the app's current release: the server serves it.
    expect(await httpGet(lastGoodUrl)).toEqual({ status: 200, body: 'pushed with no server\n' });
    fs.writeFileSync(path.join(repo, 'index.html'), 'pushed to the server again\n');
    await commitAll(repo, 'server back');
    const push = await server.git(admin, repo, ['push', 'paas', 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(await httpGet(lastGoodUrl)).toEqual({ status: 200, body: 'pushed to the server again\n' });
  });
});
