import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_IMAGE } from '../helpers/base-image.js';
import {
  ROOT,
  SkiffServer,
  commitAll,
  fixtureRepo,
  freePort,
  httpGet,
  makeKey,
  releasedUrl,
  removeDockerLeftovers,
  tempDir,
  uniqueApp,
  waitFor,
} from '../helpers/skiff.js';

const BUILD_IMAGE = 'skiff-test/shell-build:1';
const VERIFY_IMAGE = 'skiff-test/shell-verify:1';

/** Builds the shell stack's build and verify images from test/fixtures/stacks; the build image gets this host's docker CLI. */
async function buildStackImages(): Promise<void> {
  const fixtures = path.join(ROOT, 'test', 'fixtures', 'stacks', 'shell');
  const buildDir = tempDir('build-image');
  fs.cpSync(path.join(fixtures, 'build-image'), buildDir, { recursive: true });
  const cli = fs.existsSync('/usr/bin/docker') ? '/usr/bin/docker' : (await execa('sh', ['-c', 'command -v docker'])).stdout.trim();
  fs.copyFileSync(cli, path.join(buildDir, 'docker'));
  await execa('docker', ['build', '-q', '-t', BUILD_IMAGE, buildDir]);
  await execa('docker', ['build', '-q', '-t', VERIFY_IMAGE, path.join(fixtures, 'verify-image')]);
  fs.rmSync(buildDir, { recursive: true, force: true });
}

function stackfile(templateUri: string): string {
  return `name: shell
description: Apps that are an app.sh serving on $PORT
template: { type: git, uri: "${templateUri}" }
tags: [shell]
languages: [{ name: sh }]
services:
  main:
    build:  { image: ${BUILD_IMAGE}, mem: 256, cpus: 0.5 }
    verify: { image: ${VERIFY_IMAGE}, mem: 64, cpus: 0.25 }
    main: yes
    mem: 64
    instances: 1
    expose: 5000
    health:
      - { protocol: COMMAND, command: "test -f /app/app.sh", interval: 1, timeout: 2 }
      - { protocol: HTTP, path: /index.html, interval: 1, timeout: 2 }
`;
}

/** A stack defined by a stackfile: its own build and verify images, publish rules, over the real ssh and git. */
describe('stacks from a stackfile', () => {
  let server: SkiffServer;
  const keys: Record<string, string> = {};
  const app = uniqueApp('shell');
  const bobApp = uniqueApp('bobshell');
  let template: string;
  let url: string;

  beforeAll(async () => {
    await buildStackImages();
    server = await SkiffServer.start({
      SKIFF_READY_TIMEOUT: '30',
      // For the app moved to the swarm runtime at the end.
      SKIFF_SWARM_NETWORK: `skiff-test-${Math.random().toString(36).slice(2, 8)}`,
      SKIFF_SWARM_GATEWAY_PORT: String(await freePort()),
      SKIFF_SWARM_GATEWAY_IMAGE: BASE_IMAGE,
    });
    const dir = tempDir('keys');
    for (const user of ['alice', 'bob']) {
      keys[user] = await makeKey(dir, user);
      // Only admins define stacks: alice is one, bob a plain user.
      const added = await server.cli(['keys:add', user, ...(user === 'alice' ? ['--admin'] : [])], fs.readFileSync(`${keys[user]}.pub`, 'utf8'));
      expect(added.exitCode, added.stderr).toBe(0);
    }
    template = await fixtureRepo('shell-template');
  });

  afterAll(async () => {
    await server?.cleanup();
    await execa('docker', ['service', 'rm', `skiff-${app}-web`], { reject: false });
    await execa('docker', ['rm', '-f', `skiff-gateway-${server?.env.SKIFF_SWARM_GATEWAY_PORT}`], { reject: false });
    await removeDockerLeftovers([app, bobApp]);
    await waitFor(
      async () => (await execa('docker', ['network', 'rm', server.env.SKIFF_SWARM_NETWORK], { reject: false })).exitCode === 0,
      20_000,
      'network removed',
    ).catch(() => undefined);
  });

  it('refuses an invalid stackfile with the field and the reason, and creates a valid one unpublished', async () => {
    const bad = await server.ssh(keys.alice, ['stacks:create'], { input: stackfile(`file://${template}`).replace('expose: 5000', 'expose: http') });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr.trim()).toBe('!     stackfile: services.main.expose: must be a whole number from 1 to 65535');

    const created = await server.ssh(keys.alice, ['stacks:create'], { input: stackfile(`file://${template}`) });
    expect(created.exitCode, created.stderr).toBe(0);
    expect(created.stdout).toContain('Created the shell stack, unpublished: only you can use it');
    const again = await server.ssh(keys.alice, ['stacks:create'], { input: stackfile(`file://${template}`) });
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain("stack 'shell' already exists");

    const listed = JSON.parse((await server.ssh(keys.alice, ['stacks', '--json'])).stdout) as { name: string; builtin: boolean; published: boolean }[];
    expect(listed.map((s) => s.name)).toEqual(['node', 'python', 'static', 'shell']);
    expect(listed.find((s) => s.name === 'shell')).toMatchObject({ builtin: false, published: false });
    // Not published: bob does not see it, and cannot use it.
    const bobList = JSON.parse((await server.ssh(keys.bob, ['stacks', '--json'])).stdout) as { name: string }[];
    expect(bobList.map((s) => s.name)).not.toContain('shell');
    const info = await server.ssh(keys.alice, ['stacks:info', 'shell']);
    expect(info.stdout).toContain(`Build image:   ${BUILD_IMAGE} (256M, 0.5 CPU)`);
    expect(info.stdout).toContain('port 5000');
  });

  it('builds with the build image, checks with the verify image and health entries, then serves the template app', async () => {
    const created = await server.ssh(keys.alice, ['apps:create', app, '--stack', 'shell']);
    expect(created.exitCode, created.stderr).toBe(0);
    expect(created.stdout).toContain(`Start from the stack's template: git clone file://${template}`);

    const work = tempDir('clone');
    const clone = await execa('git', ['clone', '-q', `file://${template}`, work], { reject: false });
    expect(clone.exitCode, clone.stderr).toBe(0);
    const push = await server.git(keys.alice, work, ['push', server.remote(app), 'HEAD:main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toContain("Building with the shell stack (the app's stack)");
    expect(push.stderr).toContain(`shell stack: building skiff/${app}:build-`);
    expect(push.stderr).toContain(`shell stack: memory limit ${256 * 1024 * 1024}`);
    // On a network of its own with the instance: no host loopback, no other app.
    expect(push.stderr).toMatch(/shell stack: verifying web-1:5000/);
    expect(push.stderr).toContain("Health 'test -f /app/app.sh' passed on web.1");
    expect(push.stderr).toContain('Health GET /index.html passed on web.1');
    url = releasedUrl(push.stderr)!;
    expect(await httpGet(url)).toEqual({ status: 200, body: 'healthy v1\n' });

    // The stack's expose is the app's PORT.
    const [id] = (await execa('docker', ['ps', '-q', '--filter', `label=skiff.app=${app}`])).stdout.split('\n');
    const env = (await execa('docker', ['inspect', '-f', '{{range .Config.Env}}{{println .}}{{end}}', id])).stdout.split('\n');
    expect(env).toContain('PORT=5000');
    const ports = (await execa('docker', ['port', id])).stdout;
    expect(ports).toMatch(/^5000\/tcp -> 127\.0\.0\.1:\d+$/);
  });

  it('rejects a push the verify image fails, removes the new container, and the previous release keeps serving', async () => {
    const work = tempDir('clone');
    await execa('git', ['clone', '-q', server.remote(app), work], { env: server.gitEnv(keys.alice) });
    fs.writeFileSync(path.join(work, 'public', 'index.html'), 'broken v2\n');
    await commitAll(work, 'break it');
    const push = await server.git(keys.alice, work, ['push', 'origin', 'main']);
    expect(push.exitCode).not.toBe(0);
    expect(push.stderr).toContain('does not say healthy: broken v2');
    expect(push.stderr).toContain("Push rejected: the shell stack's verify image exited with status 1");
    expect(await httpGet(url)).toEqual({ status: 200, body: 'healthy v1\n' });
    const running = (await execa('docker', ['ps', '-q', '--filter', `label=skiff.app=${app}`])).stdout.split('\n').filter(Boolean);
    expect(running).toHaveLength(1);
    const leftovers = (await execa('docker', ['ps', '-aq', '--filter', `label=skiff.stack-run=${app}`])).stdout.trim();
    expect(leftovers).toBe('');

    // Code the build image refuses fails the build with its message.
    fs.rmSync(path.join(work, 'app.sh'));
    await commitAll(work, 'no app.sh');
    const noApp = await server.git(keys.alice, work, ['push', 'origin', 'main']);
    expect(noApp.exitCode).not.toBe(0);
    expect(noApp.stderr).toContain('no app.sh in this code: the shell stack runs app.sh');
    expect(noApp.stderr).toContain("Push rejected: the shell stack's build image exited with status 3");
    expect(await httpGet(url)).toEqual({ status: 200, body: 'healthy v1\n' });
  });

  it('holds the publish rules for a second user', async () => {
    const denied = await server.ssh(keys.bob, ['apps:create', bobApp, '--stack', 'shell']);
    expect(denied.exitCode).toBe(1);
    // An unpublished stack is not there for him: neither it nor its creator is named.
    expect(denied.stderr.trim()).toBe("!     no stack named 'shell'; see stacks for the ones you may use");
    expect((await server.ssh(keys.bob, ['stacks:publish', 'shell'])).stderr).toContain("no stack named 'shell'");

    // Shared with bob, the app still takes no push from him while its stack is unpublished.
    expect((await server.ssh(keys.alice, ['access:add', app, 'bob'])).exitCode).toBe(0);
    const work = tempDir('clone');
    await execa('git', ['clone', '-q', `file://${template}`, work]);
    fs.writeFileSync(path.join(work, 'public', 'index.html'), 'healthy from bob\n');
    await commitAll(work, 'bob was here');
    const refused = await server.git(keys.bob, work, ['push', '-f', server.remote(app), 'HEAD:main']);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain('the shell stack is unpublished: only its creator (alice) may push to');

    const published = await server.ssh(keys.alice, ['stacks:publish', 'shell']);
    expect(published.stdout).toContain('Published the shell stack');
    const bobList = JSON.parse((await server.ssh(keys.bob, ['stacks', '--json'])).stdout) as { name: string }[];
    expect(bobList.map((s) => s.name)).toContain('shell');
    expect((await server.ssh(keys.bob, ['apps:create', bobApp, '--stack', 'shell'])).exitCode).toBe(0);
    const pushed = await server.git(keys.bob, work, ['push', '-f', server.remote(app), 'HEAD:main']);
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    expect(await httpGet(url)).toEqual({ status: 200, body: 'healthy from bob\n' });
    // Only its creator changes it.
    expect((await server.ssh(keys.bob, ['stacks:unpublish', 'shell'])).stderr).toContain('only the creator of the shell stack (alice)');

    const unpublished = await server.ssh(keys.alice, ['stacks:unpublish', 'shell']);
    expect(unpublished.stdout).toContain(`pushes to ${bobApp}, ${app} by anyone else are refused`);
    fs.writeFileSync(path.join(work, 'public', 'index.html'), 'healthy again\n');
    await commitAll(work, 'again');
    const again = await server.git(keys.bob, work, ['push', server.remote(app), 'HEAD:main']);
    expect(again.exitCode).not.toBe(0);
    expect(again.stderr).toContain('the shell stack is unpublished');
    expect(await httpGet(url)).toEqual({ status: 200, body: 'healthy from bob\n' });

    const remove = await server.ssh(keys.alice, ['stacks:remove', 'shell']);
    expect(remove.exitCode).toBe(1);
    expect(remove.stderr).toContain(`the shell stack is used by ${bobApp}, ${app}`);
    const events = (await server.ssh(keys.alice, ['events', app])).stdout;
    expect(events).toMatch(/push .*denied|denied.*push/);
  });

  it("rejects a release that fails the stack's health entries", async () => {
    const updated = await server.ssh(keys.alice, ['stacks:update'], {
      input: stackfile(`file://${template}`).replace('test -f /app/app.sh", interval: 1', 'test -f /app/ready", retries: 2, interval: 1'),
    });
    expect(updated.exitCode, updated.stderr).toBe(0);
    expect(updated.stdout).toContain('Updated the shell stack; 2 apps use it from the next push');
    const work = tempDir('clone');
    await execa('git', ['clone', '-q', server.remote(app), work], { env: server.gitEnv(keys.alice) });
    fs.writeFileSync(path.join(work, 'public', 'index.html'), 'healthy v3\n');
    await commitAll(work, 'v3');
    const push = await server.git(keys.alice, work, ['push', 'origin', 'main']);
    expect(push.exitCode).not.toBe(0);
    expect(push.stderr).toContain("Push rejected: health check 'test -f /app/ready' exited with status 1 (2 attempts)");
    expect(await httpGet(url)).toEqual({ status: 200, body: 'healthy from bob\n' });
    const running = (await execa('docker', ['ps', '-q', '--filter', `label=skiff.app=${app}`])).stdout.split('\n').filter(Boolean);
    expect(running).toHaveLength(1);
  });

  it('checks a release on a canary before the swarm rolls it out, and the verify image still rejects', async () => {
    // The stack as first written: the health entries pass again.
    expect((await server.ssh(keys.alice, ['stacks:update'], { input: stackfile(`file://${template}`) })).exitCode).toBe(0);
    const moved = await server.ssh(keys.alice, ['apps:set', app, 'runtime', 'swarm']);
    expect(moved.exitCode, moved.stderr).toBe(0);
    const work = tempDir('clone');
    await execa('git', ['clone', '-q', server.remote(app), work], { env: server.gitEnv(keys.alice) });
    fs.writeFileSync(path.join(work, 'public', 'index.html'), 'broken on swarm\n');
    await commitAll(work, 'broken');
    const broken = await server.git(keys.alice, work, ['push', 'origin', 'main']);
    expect(broken.exitCode).not.toBe(0);
    expect(broken.stderr).toContain('Starting a canary web instance on this host for the checks');
    expect(broken.stderr).toContain('does not say healthy: broken on swarm');
    expect(await httpGet(url)).toEqual({ status: 200, body: 'healthy from bob\n' });
    const release = (await execa('docker', ['service', 'inspect', '-f', '{{index .Spec.Labels "skiff.release"}}', `skiff-${app}-web`])).stdout.trim();

    fs.writeFileSync(path.join(work, 'public', 'index.html'), 'healthy on swarm\n');
    await commitAll(work, 'fixed');
    const fixed = await server.git(keys.alice, work, ['push', 'origin', 'main']);
    expect(fixed.exitCode, fixed.stderr).toBe(0);
    expect(fixed.stderr).toContain("Health 'test -f /app/app.sh' passed on web.0");
    expect(await httpGet(url)).toEqual({ status: 200, body: 'healthy on swarm\n' });
    const now = (await execa('docker', ['service', 'inspect', '-f', '{{index .Spec.Labels "skiff.release"}}', `skiff-${app}-web`])).stdout.trim();
    expect(Number(now)).toBeGreaterThan(Number(release));
  });
});
