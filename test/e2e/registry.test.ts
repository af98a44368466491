import fs from 'node:fs';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { SkiffServer, commitAll, fixtureRepo, httpGet, makeKey, releasedUrl, removeDockerLeftovers, tempDir, uniqueApp } from '../helpers/skiff.js';
import path from 'node:path';

/** Release images in a real registry (Debian's docker-registry on loopback), with and without basic auth. */
describe('a registry for release images', () => {
  let registry: TestRegistry;
  let open: TestRegistry;
  let server: SkiffServer;
  let key: string;
  const app = uniqueApp('reg');
  const openApp = uniqueApp('regopen');
  let repo: string;
  let url: string;

  beforeAll(async () => {
    [registry, open] = await Promise.all([startRegistry({ username: 'skiff', password: 'pa55 word' }), startRegistry()]);
    server = await SkiffServer.start({ SKIFF_REGISTRY: `${registry.address}/team`, SKIFF_REGISTRY_USER: 'skiff', SKIFF_REGISTRY_PASSWORD: 'pa55 word' });
    key = await makeKey(tempDir('keys'), 'admin');
    await server.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
    repo = await fixtureRepo('dockerfile-hello');
  });

  afterAll(async () => {
    await server?.cleanup();
    await removeDockerLeftovers([app, openApp]);
    await registry?.stop();
    await open?.stop();
  });

  it('pushes each release as REGISTRY/APP:vN and :COMMIT after the build, streaming progress', async () => {
    const push = await server.git(key, repo, ['push', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toContain(`Pushing ${registry.address}/team/${app}:v1`);
    expect(push.stderr).toMatch(/v1: digest: sha256:[0-9a-f]{64}/);
    url = releasedUrl(push.stderr)!;
    expect((await httpGet(url)).body).toBe('hello from v1\n');
    const commit = (await execa('git', ['rev-parse', 'HEAD'], { cwd: repo })).stdout.slice(0, 12);
    const tags = await registry.api(`/v2/team/${app}/tags/list`);
    expect(tags.status).toBe(200);
    expect((tags.body as { tags: string[] }).tags.sort()).toEqual([commit, 'v1'].sort());
    const release = JSON.parse((await server.ssh(key, ['releases:info', app, 'v1', '--json'])).stdout) as { image: string };
    expect(release.image).toBe(`${registry.address}/team/${app}:v1`);
  });

  it('pulls from the registry to scale and to roll back when the image is not on the host', async () => {
    fs.writeFileSync(path.join(repo, 'index.html'), 'hello from v2\n');
    // What predeploy changes is kept in the release's image, and that image is what the registry has.
    fs.writeFileSync(path.join(repo, 'app.json'), JSON.stringify({ scripts: { dokku: { predeploy: 'echo kept >> /www/index.html' } } }));
    await commitAll(repo, 'v2');
    const push = await server.git(key, repo, ['push', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect((await httpGet(url)).body).toBe('hello from v2\nkept\n');

    // As on a host that never built them.
    await execa('docker', ['rmi', '-f', `${registry.address}/team/${app}:v1`, `${registry.address}/team/${app}:v2`]);
    const scale = await server.ssh(key, ['ps:scale', app, 'web=2']);
    expect(scale.exitCode, scale.stderr).toBe(0);
    expect(scale.stdout + scale.stderr).toContain(`Pulling ${registry.address}/team/${app}:v2`);
    const pulled = await execa('docker', ['run', '--rm', '--entrypoint', 'cat', `${registry.address}/team/${app}:v2`, '/www/index.html']);
    expect(pulled.stdout).toBe('hello from v2\nkept');

    const rollback = await server.ssh(key, ['rollback', app, 'v1']);
    expect(rollback.exitCode, rollback.stderr).toBe(0);
    expect(rollback.stdout).toContain(`Pulling ${registry.address}/team/${app}:v1`);
    expect((await httpGet(url)).body).toBe('hello from v1\n');
    // The rollback is a release of its own, in the registry too.
    expect(((await registry.api(`/v2/team/${app}/tags/list`)).body as { tags: string[] }).tags).toContain('v3');
  });

  it("fails the deploy with the registry's message when it refuses, and the old release keeps serving", async () => {
    const wrong = await SkiffServer.start({ SKIFF_REGISTRY: `${registry.address}/team`, SKIFF_REGISTRY_USER: 'skiff', SKIFF_REGISTRY_PASSWORD: 'wrong' });
    try {
      // The same home's repo and records are not shared: a fresh app on a server with bad credentials.
      await wrong.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
      const first = await wrong.git(key, repo, ['push', wrong.remote(app), 'main']);
      expect(first.exitCode).not.toBe(0);
      expect(first.stderr).toMatch(
        /Push rejected: the registry (refused|failed for) [^\n]*:v1: [^\n]*(unauthorized|authentication required|no basic auth credentials)/i,
      );
      expect(JSON.parse((await wrong.ssh(key, ['releases', app, '--json'])).stdout)).toMatchObject([{ version: 1, status: 'failed' }]);
      // doctor says so before anyone pushes.
      expect((await wrong.cli(['doctor'])).stdout).toContain(`FAIL  registry: ${registry.address}/team refused SKIFF_REGISTRY_USER`);
      expect((await server.cli(['doctor'])).stdout).toContain(`ok    registry: ${registry.address}/team accepts SKIFF_REGISTRY_USER`);
    } finally {
      await wrong.cleanup();
    }
    expect((await httpGet(url)).body).toBe('hello from v1\n');
  });

  it('works with a registry without auth', async () => {
    const plain = await SkiffServer.start({ SKIFF_REGISTRY: open.address });
    try {
      await plain.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
      const push = await plain.git(key, repo, ['push', plain.remote(openApp), 'main']);
      expect(push.exitCode, push.stderr).toBe(0);
      expect(push.stderr).toContain(`Pushing ${open.address}/${openApp}:v1`);
      expect(((await open.api(`/v2/${openApp}/tags/list`)).body as { tags: string[] }).tags).toContain('v1');
    } finally {
      await plain.cleanup();
    }
  });
});
