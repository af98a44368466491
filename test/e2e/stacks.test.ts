import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_IMAGE, NODE_IMAGE, PYTHON_IMAGE } from '../helpers/base-image.js';
import { SkiffServer, commitAll, fixtureRepo, httpGet, makeKey, releasedUrl, removeDockerLeftovers, tempDir, uniqueApp } from '../helpers/skiff.js';

/** Apps without a Dockerfile, built by a built-in stack (its base image pointed at a local one). */
describe('built-in stacks', () => {
  let server: SkiffServer;
  let key: string;
  const app = uniqueApp('site');
  const nodeApp = uniqueApp('express');
  const pyApp = uniqueApp('py');

  beforeAll(async () => {
    server = await SkiffServer.start({
      SKIFF_STACK_STATIC_IMAGE: BASE_IMAGE,
      SKIFF_STACK_NODE_IMAGE: NODE_IMAGE,
      SKIFF_STACK_PYTHON_IMAGE: PYTHON_IMAGE,
      // Package installs inside builds go through this machine's intercepting proxy.
      SKIFF_BUILD_CA_FILE: '/etc/ssl/certs/ca-certificates.crt',
      // The healthcheck test waits this long for a /health that never answers 2xx.
      SKIFF_READY_TIMEOUT: '15',
    });
    key = await makeKey(tempDir('keys'), 'admin');
    await server.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
  });

  afterAll(async () => {
    await server?.cleanup();
    await removeDockerLeftovers([app, nodeApp, pyApp]);
  });

  it('deploys a static site, saying which stack and why', async () => {
    const repo = await fixtureRepo('static-site');
    const push = await server.git(key, repo, ['push', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toContain('remote:        Building with the static stack (index.html found)');
    const url = releasedUrl(push.stderr)!;
    expect(await httpGet(url)).toEqual({ status: 200, body: '<h1>static site</h1>\n' });
    expect((await httpGet(`${url}style.css`)).body).toBe('body { color: teal }\n');
    // The generated files are not served.
    expect((await httpGet(`${url}.skiff/Dockerfile`)).status).toBe(404);

    const dockerfile = await server.ssh(key, ['stacks:dockerfile', app]);
    expect(dockerfile.exitCode, dockerfile.stderr).toBe(0);
    expect(dockerfile.stdout).toMatch(/^# .* builds with the static stack \(index\.html found\)\nFROM skiff-test\/base:bookworm\n/);

    fs.writeFileSync(path.join(repo, 'index.html'), '<h1>changed</h1>\n');
    await commitAll(repo, 'change');
    const again = await server.git(key, repo, ['push', server.remote(app), 'main']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect((await httpGet(url)).body).toBe('<h1>changed</h1>\n');
  });

  it('deploys a Node app written for Heroku unchanged, keeps out what its .dockerignore excludes, and rebuilds code changes on the cached dependency layer', async () => {
    const repo = await fixtureRepo('node-express', (dir) => {
      // Dotfiles excluded too: the stack's own files (the CA bundle it copies) go all the same.
      fs.writeFileSync(path.join(dir, '.dockerignore'), '.*\nnotes\n');
      fs.mkdirSync(path.join(dir, 'notes'));
      fs.writeFileSync(path.join(dir, 'notes', 'todo.txt'), 'not for the image\n');
    });
    const push = await server.git(key, repo, ['push', server.remote(nodeApp), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toContain('Building with the node stack (package.json found)');
    const url = releasedUrl(push.stderr)!;
    expect((await httpGet(url)).body).toMatch(/^hello from express 4\.\d+\.\d+\n$/);
    const listed = await server.ssh(key, ['run', nodeApp, 'ls', '-a', '/app']);
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^server\.js$/m);
    expect(listed.stdout).not.toMatch(/^notes$/m);
    expect(listed.stdout).not.toMatch(/^\.dockerignore$/m);

    fs.writeFileSync(path.join(repo, 'server.js'), fs.readFileSync(path.join(repo, 'server.js'), 'utf8').replace('hello from', 'changed:'));
    await commitAll(repo, 'code only');
    const again = await server.git(key, repo, ['push', server.remote(nodeApp), 'main']);
    expect(again.exitCode, again.stderr).toBe(0);
    // The npm install step was not run again.
    expect(again.stderr).toMatch(/: RUN npm install --no-audit --no-fund\s+remote: +---> Using cache/);
    expect((await httpGet(url)).body).toMatch(/^changed: express 4/);
  });

  // Dokku's own test apps (tests/apps/nodejs-express and nodejs-worker of the Dokku repository, MIT), copied unchanged but for their check_deploy, which the assertions restate.
  it("deploys Dokku's nodejs-express test app unchanged: it passes Dokku's check_deploy, and keeps what predeploy made, not what postdeploy or the release command made", async () => {
    const dokkuApp = uniqueApp('dokku-express');
    try {
      const push = await server.git(key, await fixtureRepo('dokku-nodejs-express'), ['push', server.remote(dokkuApp), 'main']);
      expect(push.exitCode, push.stderr).toBe(0);
      expect(push.stderr).toContain('touch /app/predeploy.test');
      expect(push.stderr).toContain('touch /app/postdeploy.test');
      // check_deploy: the body is exactly nodejs/express.
      expect((await httpGet(releasedUrl(push.stderr)!)).body).toBe('nodejs/express');
      // Dokku's app-json tests: `dokku run APP ls /app/predeploy.test` succeeds, postdeploy's file is not there.
      expect((await server.ssh(key, ['run', dokkuApp, 'ls', '/app/predeploy.test'])).exitCode).toBe(0);
      expect((await server.ssh(key, ['run', dokkuApp, 'ls', '/app/postdeploy.test'])).exitCode).not.toBe(0);
      expect((await server.ssh(key, ['run', dokkuApp, 'ls', '/app/release.test'])).exitCode).not.toBe(0);
    } finally {
      await removeDockerLeftovers([dokkuApp]);
    }
  });

  it("deploys Dokku's nodejs-worker test app unchanged: one worker runs node worker.js, and no web", async () => {
    const dokkuApp = uniqueApp('dokku-worker');
    try {
      const push = await server.git(key, await fixtureRepo('dokku-nodejs-worker'), ['push', server.remote(dokkuApp), 'main']);
      expect(push.exitCode, push.stderr).toBe(0);
      const ps = JSON.parse((await server.ssh(key, ['ps', dokkuApp, '--json'])).stdout) as { instances: { name: string; state: string }[] };
      expect(ps.instances.map((i) => [i.name, i.state])).toEqual([['worker.1', 'running']]);
      // check_deploy: exactly one `node worker.js` process (under the init, whose own arguments name it too).
      const worker = (await execa('docker', ['ps', '-q', '--filter', `label=skiff.app=${dokkuApp}`, '--filter', 'label=skiff.process=worker'])).stdout;
      const top = await execa('docker', ['top', worker, '-o', 'pid,args']);
      expect(top.stdout.split('\n').filter((l) => /^\s*\d+\s+node worker\.js$/.test(l))).toHaveLength(1);
    } finally {
      await removeDockerLeftovers([dokkuApp]);
    }
  });

  it("runs skiff.yml's verify command in the new image before release, and rejects the push when it fails", async () => {
    const name = uniqueApp('verify');
    const repo = await fixtureRepo('dockerfile-hello', (d) =>
      fs.writeFileSync(path.join(d, 'skiff.yml'), 'verify: test -f /www/index.html && echo "verified $GREETING"\n'),
    );
    await server.ssh(key, ['apps:create', name]);
    await server.ssh(key, ['config:set', name, 'GREETING=ok']);
    const push = await server.git(key, repo, ['push', server.remote(name), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toMatch(/-----> Verifying \(test -f[^\n]*\n[^\n]*verified ok/);
    const url = releasedUrl(push.stderr)!;

    fs.writeFileSync(path.join(repo, 'skiff.yml'), 'verify: echo "2 tests failed"; exit 2\n');
    fs.writeFileSync(path.join(repo, 'index.html'), 'never served\n');
    await commitAll(repo, 'failing verify');
    const failing = await server.git(key, repo, ['push', server.remote(name), 'main']);
    expect(failing.exitCode).not.toBe(0);
    expect(failing.stderr).toContain('2 tests failed');
    expect(failing.stderr).toContain('Push rejected: verify command \'echo "2 tests failed"; exit 2\' exited with status 2');
    expect((await httpGet(url)).body).toBe('hello from v1\n');
    expect(JSON.parse((await server.ssh(key, ['releases', name, '--json'])).stdout)).toHaveLength(1);

    // A healthcheck path must answer 2xx before traffic moves.
    fs.writeFileSync(path.join(repo, 'skiff.yml'), 'healthcheck: /health\n');
    await commitAll(repo, 'healthcheck, but no /health');
    const unhealthy = await server.git(key, repo, ['push', server.remote(name), 'main']);
    expect(unhealthy.exitCode).not.toBe(0);
    expect(unhealthy.stderr).toMatch(/answered \/health with 404, not 2xx/);
    expect((await httpGet(url)).body).toBe('hello from v1\n');
    fs.writeFileSync(path.join(repo, 'health'), 'ok\n');
    fs.appendFileSync(path.join(repo, 'Dockerfile'), 'COPY health /www/health\n');
    await commitAll(repo, 'add /health');
    const healthy = await server.git(key, repo, ['push', server.remote(name), 'main']);
    expect(healthy.exitCode, healthy.stderr).toBe(0);
    expect((await httpGet(url)).body).toBe('never served\n');
    await removeDockerLeftovers([name]);
  });

  it('deploys a Python app (standard library only) with its Procfile, and says what to add without one', async () => {
    const repo = await fixtureRepo('python-stdlib');
    const push = await server.git(key, repo, ['push', server.remote(pyApp), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toContain('Building with the python stack (requirements.txt found)');
    expect(push.stderr).toContain('RUN pip install -r requirements.txt');
    const url = releasedUrl(push.stderr)!;
    expect(await httpGet(url)).toEqual({ status: 200, body: 'hello from python 3.11\n' });

    fs.rmSync(path.join(repo, 'Procfile'));
    await commitAll(repo, 'no Procfile');
    const noWeb = await server.git(key, repo, ['push', server.remote(pyApp), 'main']);
    expect(noWeb.exitCode).not.toBe(0);
    expect(noWeb.stderr).toContain('Push rejected: the python stack needs a Procfile with a web line, e.g. web: python app.py');
    expect((await httpGet(url)).body).toBe('hello from python 3.11\n');
  });

  it('builds with the stack set on the app, before its Dockerfile', async () => {
    const name = uniqueApp('forced');
    // A Dockerfile that cannot build: the app's stack (static) is used instead.
    const repo = await fixtureRepo('static-site', (d) => fs.writeFileSync(path.join(d, 'Dockerfile'), 'FROM no-such-image-anywhere\n'));
    const created = await server.ssh(key, ['apps:create', name, '--stack', 'static']);
    expect(created.exitCode, created.stderr).toBe(0);
    const push = await server.git(key, repo, ['push', server.remote(name), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toContain("Building with the static stack (the app's stack)");
    expect((await httpGet(releasedUrl(push.stderr)!)).body).toBe('<h1>static site</h1>\n');
    expect(JSON.parse((await server.ssh(key, ['apps:info', name, '--json'])).stdout).stack).toBe('static');

    // Back to no stack: the Dockerfile is used again (and fails), the site keeps serving.
    expect((await server.ssh(key, ['apps:stack-update', name, 'none'])).exitCode).toBe(0);
    fs.writeFileSync(path.join(repo, 'index.html'), '<h1>again</h1>\n');
    await commitAll(repo, 'again');
    const dockerfile = await server.git(key, repo, ['push', server.remote(name), 'main']);
    expect(dockerfile.exitCode).not.toBe(0);
    expect(dockerfile.stderr).toContain("Building with the app's Dockerfile");
    const unknown = await server.ssh(key, ['apps:stack-update', name, 'cobol']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain("no stack named 'cobol'");
    await removeDockerLeftovers([name]);
  });

  it('lists the built-in stacks with their images', async () => {
    const stacks = JSON.parse((await server.ssh(key, ['stacks', '--json'])).stdout) as { name: string; image: string }[];
    expect(stacks.map((s) => [s.name, s.image])).toEqual([
      ['node', NODE_IMAGE],
      ['python', PYTHON_IMAGE],
      ['static', BASE_IMAGE],
    ]);
  });

  it('says what to add when it cannot tell how to build', async () => {
    const repo = await fixtureRepo('static-site', (d) => {
      fs.rmSync(path.join(d, 'index.html'));
    });
    const push = await server.git(key, repo, ['push', server.remote(uniqueApp('none')), 'main']);
    expect(push.exitCode).not.toBe(0);
    expect(push.stderr).toContain('cannot tell how to build this: add a Dockerfile, or a package.json (node)');
  });
});
