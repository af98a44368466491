import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SkiffServer, fixtureRepo, httpGet, makeKey, releasedUrl, removeDockerLeftovers, tempDir, uniqueApp } from '../helpers/skiff.js';

/** Every command of the core, through both doors: ssh as a key's user, and `skiff` on the host. */
describe('commands over SSH and on the host', () => {
  let server: SkiffServer;
  let admin: string;
  let user: string;
  let stranger: string;
  const app = uniqueApp('cmds');
  const apps = [app];

  beforeAll(async () => {
    server = await SkiffServer.start();
    const keys = tempDir('keys');
    admin = await makeKey(keys, 'admin');
    user = await makeKey(keys, 'user');
    stranger = await makeKey(keys, 'stranger');
    expect((await server.cli(['keys:add', 'root', '--admin'], fs.readFileSync(`${admin}.pub`, 'utf8'))).exitCode).toBe(0);
  });

  afterAll(async () => {
    await server?.cleanup();
    await removeDockerLeftovers(apps);
  });

  it('refuses a key it does not know, and passwords', async () => {
    const r = await server.ssh(stranger, ['apps:list']);
    expect(r.exitCode).toBe(255);
    expect(r.stderr).toMatch(/Permission denied \(publickey\)/);
  });

  it('adds a key over SSH as an admin, reading it from stdin, and lists it', async () => {
    const add = await server.ssh(admin, ['keys:add', 'bob'], { input: fs.readFileSync(`${user}.pub`, 'utf8') });
    expect(add.exitCode, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/Added ssh-ed25519 key SHA256:\S+ for bob/);
    const fingerprint = (await execa('ssh-keygen', ['-lf', `${user}.pub`])).stdout.split(' ')[1];
    const list = await server.ssh(admin, ['keys', '--json']);
    expect(JSON.parse(list.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ user: 'bob', fingerprint, role: 'user' })]));
    const again = await server.ssh(admin, ['keys:add', 'carol'], { input: fs.readFileSync(`${user}.pub`, 'utf8') });
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toBe(' !     that key is already registered (to bob)');
  });

  it('keeps key management to admins', async () => {
    const r = await server.ssh(user, ['keys:list']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(' !     access denied: keys:list is for admins');
  });

  it('refuses a private key and junk on keys:add', async () => {
    const priv = await server.ssh(admin, ['keys:add', 'eve'], { input: fs.readFileSync(admin, 'utf8') });
    expect(priv.exitCode).toBe(1);
    expect(priv.stderr).toMatch(/private key/);
    const junk = await server.ssh(admin, ['keys:add', 'eve'], { input: 'ssh-ed25519 not-base64' });
    expect(junk.exitCode).toBe(1);
    expect(junk.stderr).toMatch(/not an OpenSSH public key/);
  });

  it('creates an app over SSH and shows it through both doors', async () => {
    const create = await server.ssh(user, ['apps:create', app]);
    expect(create.exitCode, create.stderr).toBe(0);
    expect(create.stdout).toContain(`git remote add paas ssh://git@localhost:${server.port}/${app}.git`);
    const dup = await server.ssh(user, ['apps:create', app]);
    expect(dup.exitCode).toBe(1);
    expect(dup.stderr).toBe(` !     app '${app}' already exists`);
    const viaHost = await server.cli(['apps:list']);
    expect(viaHost.stdout.split('\n')).toContain(app);
    const json = JSON.parse((await server.ssh(user, ['apps', '--json'])).stdout) as { name: string; createdBy: string }[];
    expect(json.find((a) => a.name === app)?.createdBy).toBe('bob');
  });

  it('refuses bad app names before touching anything', async () => {
    for (const bad of ['Upper', '../etc', '9lives', 'a'.repeat(31), 'semi;colon', '$(id)']) {
      const r = await server.ssh(user, ['apps:create', `'${bad}'`]);
      expect(r.exitCode, bad).toBe(1);
      expect(r.stderr, bad).toMatch(/^ ! {5}invalid app name '.*': use 1 to 30 lower-case letters/);
    }
    expect(fs.readdirSync(path.join(server.home, 'repos')).sort()).toEqual([`${app}.git`]);
    const push = await server.git(user, tempDir('bad'), ['ls-remote', `ssh://git@127.0.0.1:${server.port}/Bad..Name.git`]);
    expect(push.exitCode).not.toBe(0);
    expect(push.stderr).toMatch(/invalid app name/);
  });

  it('deploys to the created app and reports it in apps:info, builds and releases', async () => {
    const repo = await fixtureRepo('dockerfile-hello');
    const push = await server.git(user, repo, ['push', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).not.toContain('Created app');
    const url = releasedUrl(push.stderr)!;
    expect((await httpGet(url)).body).toBe('hello from v1\n');

    const info = await server.ssh(user, ['apps:info', app]);
    expect(info.exitCode).toBe(0);
    expect(info.stdout).toMatch(new RegExp(`URL: +${url.replace(/[/.]/g, '\\$&')}`));
    expect(info.stdout).toMatch(/Release: +v1 \([0-9a-f]{7}, .* by bob\)/);
    const infoJson = JSON.parse((await server.cli(['apps:info', app, '--json'])).stdout);
    expect(infoJson).toMatchObject({ name: app, url, release: { version: 1, pusher: 'bob' } });
    expect(infoJson.processes).toEqual([{ name: 'web.1', release: 1, state: 'running' }]);

    const builds = JSON.parse((await server.ssh(user, ['builds', app, '--json'])).stdout) as { id: number; status: string }[];
    expect(builds).toHaveLength(1);
    expect(builds[0].status).toBe('succeeded');
    const output = await server.ssh(user, ['builds:output', app, String(builds[0].id)]);
    expect(output.stdout).toContain('-----> Building image');
    expect(output.stdout).toContain('-----> Released v1');
    const missing = await server.ssh(user, ['builds:output', app, '999999']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toBe(` !     ${app} has no build 999999; builds ${app} lists them`);
  });

  it('answers help, version, a shell and an unknown command the way a user expects', async () => {
    const help = await server.ssh(user, ['help']);
    expect(help.exitCode).toBe(0);
    for (const name of ['apps:create', 'apps:destroy', 'keys:add', 'builds:output', 'releases']) expect(help.stdout).toContain(name);
    const version = await server.ssh(user, ['version']);
    expect(version.stdout).toMatch(/^skiff \d+\.\d+\.\d+$/);
    const unknown = await server.ssh(user, ['frobnicate']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toBe(" !     unknown command 'frobnicate' (help lists the commands)");
    const typo = await server.ssh(user, ['apps:craete', 'x']);
    expect(typo.exitCode).toBe(1);
    expect(typo.stderr).toBe(" !     unknown command 'apps:craete'; did you mean apps:create? (help lists the commands)");
    const usage = await server.ssh(user, ['apps:create']);
    expect(usage.exitCode).toBe(1);
    expect(usage.stderr).toBe(' !     usage: apps:create NAME [--stack STACK]');
    const flag = await server.ssh(user, ['apps:list', '--bogus']);
    expect(flag.exitCode).toBe(1);
    expect(flag.stderr).toMatch(/Unknown option '--bogus'.*usage: apps:list \[--json\]/);
    const [cmd, ...base] = server.sshCommand(user);
    const shell = await execa(cmd, [...base, '-T', '-p', String(server.port), 'git@127.0.0.1'], { input: '', reject: false });
    expect(shell.exitCode).toBe(0);
    expect(shell.stdout).toContain('Usage: ssh');
    const hostHelp = await server.cli(['--help']);
    expect(hostHelp.stdout).toContain('SKIFF_SSH_PORT');
    expect(hostHelp.stdout).toContain('(default: 2222)');
  });

  it('destroys an app only with --confirm, removing its containers, images and repo', async () => {
    const unconfirmed = await server.ssh(user, ['apps:destroy', app]);
    expect(unconfirmed.exitCode).toBe(1);
    expect(unconfirmed.stderr).toContain(`run: apps:destroy ${app} --confirm ${app}`);
    expect((await server.ssh(user, ['apps:info', app])).exitCode).toBe(0);

    const destroy = await server.ssh(user, ['apps:destroy', app, '--confirm', app]);
    expect(destroy.exitCode, destroy.stderr).toBe(0);
    const containers = (await execa('docker', ['ps', '-aq', '--filter', `label=skiff.app=${app}`])).stdout;
    const images = (await execa('docker', ['images', '-q', '--filter', `label=skiff.app=${app}`])).stdout;
    expect(containers.trim()).toBe('');
    expect(images.trim()).toBe('');
    expect(fs.existsSync(path.join(server.home, 'repos', `${app}.git`))).toBe(false);
    const info = await server.ssh(admin, ['apps:info', app]);
    expect(info.exitCode).toBe(1);
    expect(info.stderr).toBe(` !     app '${app}' not found; create it with apps:create ${app}, or push to it`);
    // A user learns nothing about apps that are not theirs, existing or not.
    expect((await server.ssh(user, ['apps:info', app])).stderr).toBe(' !     access denied');
  });

  it('removes keys and then refuses them', async () => {
    const removed = await server.cli(['keys:remove', 'bob']);
    expect(removed.exitCode).toBe(0);
    expect((await server.ssh(user, ['apps:list'])).exitCode).toBe(255);
    const again = await server.cli(['keys:remove', 'bob']);
    expect(again.exitCode).toBe(1);
  });
});
