import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SkiffServer, freePort, commitAll, fixtureRepo, httpGet, makeKey, releasedUrl, removeDockerLeftovers, tempDir, uniqueApp } from '../helpers/skiff.js';

/** Three users over the real ssh and git: an admin, an app's owner, and a stranger. */
describe('who may do what', () => {
  let server: SkiffServer;
  const keys: Record<string, string> = {};
  const app = uniqueApp('own');
  const ghost = uniqueApp('ghost');
  let repo: string;
  let url: string;

  beforeAll(async () => {
    server = await SkiffServer.start();
    const dir = tempDir('keys');
    for (const [user, admin] of [
      ['root', true],
      ['owen', false],
      ['colin', false],
      ['sam', false],
    ] as const) {
      keys[user] = await makeKey(dir, user);
      const added = await server.cli(['keys:add', user, ...(admin ? ['--admin'] : [])], fs.readFileSync(`${keys[user]}.pub`, 'utf8'));
      expect(added.exitCode, added.stderr).toBe(0);
    }
    repo = await fixtureRepo('dockerfile-hello');
    const push = await server.git(keys.owen, repo, ['push', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    url = releasedUrl(push.stderr)!;
  });

  afterAll(async () => {
    await server?.cleanup();
    await removeDockerLeftovers([app, ghost]);
  });

  it('says who you are', async () => {
    expect((await server.ssh(keys.owen, ['whoami'])).stdout).toMatch(/^owen \(user, key SHA256:\S+ from 127\.0\.0\.1\)$/);
    expect((await server.ssh(keys.root, ['whoami'])).stdout).toMatch(/^root \(admin, /);
    expect((await server.cli(['whoami'])).stdout).toBe('admin (host) (admin, on the host)');
  });

  it('refuses a stranger every command, push and clone of the app, saying only "access denied", and changes nothing', async () => {
    const before = (await server.ssh(keys.root, ['releases', app, '--json'])).stdout;
    const commands = [
      ['apps:info', app],
      ['apps:destroy', app, '--confirm', app],
      ['builds', app],
      ['builds:output', app],
      ['releases', app],
      ['releases:info', app, 'v1'],
      ['rollback', app],
      ['config', app],
      ['config:set', app, 'X=1'],
      ['config:unset', app, 'X'],
      ['config:get', app, 'X'],
      ['ps', app],
      ['ps:scale', app, 'web=2'],
      ['ps:stop', app],
      ['ps:restart', app],
      ['resources:set', app, 'web', '--memory', '64m'],
      ['domains', app],
      ['domains:add', app, 'evil.example.com'],
      ['logs', app],
      ['run', app, 'true'],
      ['access', app],
      ['access:add', app, 'sam'],
    ];
    for (const words of commands) {
      for (const target of [app, ghost]) {
        const r = await server.ssh(
          keys.sam,
          words.map((w) => (w === app ? target : w)),
        );
        expect(r.exitCode, words.join(' ')).toBe(1);
        expect(r.stderr, words.join(' ')).toBe(' !     access denied');
      }
    }
    const clone = await server.git(keys.sam, tempDir('steal'), ['clone', server.remote(app), 'copy']);
    expect(clone.exitCode).not.toBe(0);
    expect(clone.stderr).toContain('access denied');
    fs.writeFileSync(path.join(repo, 'index.html'), 'defaced\n');
    await commitAll(repo, 'deface');
    const push = await server.git(keys.sam, repo, ['push', server.remote(app), 'main']);
    expect(push.exitCode).not.toBe(0);
    expect(push.stderr).toContain('access denied');
    expect((await server.ssh(keys.sam, ['apps', '--json'])).stdout).toBe('[]');
    // Nothing changed.
    expect((await server.ssh(keys.root, ['releases', app, '--json'])).stdout).toBe(before);
    expect((await httpGet(url)).body).toBe('hello from v1\n');
    expect((await server.ssh(keys.root, ['config', app, '--json'])).stdout).toBe('{}');
  });

  it('lets the owner share the app, at once, and take it back, at once', async () => {
    expect((await server.ssh(keys.colin, ['config:set', app, 'A=1', '--no-restart'])).stderr).toBe(' !     access denied');
    const add = await server.ssh(keys.owen, ['access:add', app, 'colin']);
    expect(add.exitCode, add.stderr).toBe(0);
    expect(JSON.parse((await server.ssh(keys.colin, ['access', app, '--json'])).stdout)).toEqual({ owner: 'owen', users: ['colin'] });
    expect((await server.ssh(keys.colin, ['config:set', app, 'A=1', '--no-restart'])).exitCode).toBe(0);
    const push = await server.git(keys.colin, repo, ['push', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect((await httpGet(url)).body).toBe('defaced\n');
    // Sharing is the owner's: a collaborator may not share further, nor destroy.
    expect((await server.ssh(keys.colin, ['access:add', app, 'sam'])).stderr).toBe(
      ` !     access denied: only the owner of ${app} (owen) or an admin may do that`,
    );
    expect((await server.ssh(keys.colin, ['apps:destroy', app, '--confirm', app])).stderr).toMatch(/only the owner/);
    expect((await server.ssh(keys.owen, ['access:add', app, 'nobody'])).stderr).toBe(" !     no user 'nobody'; an admin adds one with keys:add nobody");

    expect((await server.ssh(keys.owen, ['access:remove', app, 'colin'])).exitCode).toBe(0);
    expect((await server.ssh(keys.colin, ['config', app])).stderr).toBe(' !     access denied');
    const clone = await server.git(keys.colin, tempDir('after'), ['clone', server.remote(app), 'copy']);
    expect(clone.exitCode).not.toBe(0);
  });

  it('lets an admin do everything, and plain users create apps unless told otherwise', async () => {
    expect((await server.ssh(keys.root, ['access:add', app, 'sam'])).exitCode).toBe(0);
    expect((await server.ssh(keys.sam, ['apps', '--json'])).stdout).toContain(app);
    expect((await server.ssh(keys.sam, ['apps:create', ghost])).exitCode).toBe(0);
    expect(JSON.parse((await server.ssh(keys.sam, ['access', ghost, '--json'])).stdout).owner).toBe('sam');
  });
});

describe('the audit trail and webhooks', () => {
  let server: SkiffServer;
  let admin: string;
  let user: string;
  const app = uniqueApp('trail');
  const received: Record<string, unknown>[] = [];
  let hookServer: http.Server;

  beforeAll(async () => {
    // The receiving end is on loopback, which webhooks may reach only where an admin allows it.
    server = await SkiffServer.start({ SKIFF_HOOKS_ALLOW: '127.0.0.1/32' });
    const dir = tempDir('keys');
    admin = await makeKey(dir, 'root');
    user = await makeKey(dir, 'ann');
    await server.cli(['keys:add', 'root', '--admin'], fs.readFileSync(`${admin}.pub`, 'utf8'));
    await server.cli(['keys:add', 'ann'], fs.readFileSync(`${user}.pub`, 'utf8'));
    hookServer = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        received.push(JSON.parse(body) as Record<string, unknown>);
        res.end('thanks');
      });
    });
    await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r));
  });

  afterAll(async () => {
    hookServer?.close();
    await server?.cleanup();
    await removeDockerLeftovers([app]);
  });

  it('records every change with user, source and outcome, and never a config value', async () => {
    expect((await server.ssh(user, ['apps:create', app])).exitCode).toBe(0);
    const port = (hookServer.address() as AddressInfo).port;
    expect((await server.ssh(user, ['hooks:add', app, `http://127.0.0.1:${port}/deployed`])).exitCode).toBe(0);
    // A hook that nobody answers must not fail a deploy.
    expect((await server.ssh(user, ['hooks:add', app, `http://127.0.0.1:${await freePort()}/gone`])).exitCode).toBe(0);
    expect((await server.ssh(user, ['config:set', app, "'SECRET=hunter2 sesame'"])).exitCode).toBe(0);
    const push = await server.git(user, await fixtureRepo('dockerfile-hello'), ['push', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect((await server.ssh(user, ['ps:scale', app, 'web=2'])).exitCode).toBe(0);
    expect((await server.ssh(user, ['domains:add', app, 'trail.example.test'])).exitCode).toBe(0);
    expect((await server.cli(['access:add', app, 'nobody'])).exitCode).toBe(1);
    expect((await server.ssh(admin, ['ps:stop', uniqueApp('missing')])).exitCode).toBe(1);

    const events = JSON.parse((await server.ssh(user, ['events', app, '--json'])).stdout) as {
      user: string;
      action: string;
      outcome: string;
      source: string;
      detail: Record<string, unknown>;
    }[];
    const actions = events.map((e) => `${e.user} ${e.action} ${e.outcome}`).reverse();
    expect(actions).toEqual([
      'ann apps:create ok',
      'ann hooks:add ok',
      'ann hooks:add ok',
      'ann config:set ok',
      'ann push ok',
      'ann ps:scale ok',
      'ann domains:add ok',
      "admin (host) access:add failed: no user 'nobody'; an admin adds one with keys:add nobody",
    ]);
    const config = events.find((e) => e.action === 'config:set')!;
    expect(config.detail).toEqual({ keys: ['SECRET'], restart: true });
    expect(config.source).toMatch(/^ssh SHA256:\S+ from 127\.0\.0\.1$/);
    expect(events.find((e) => e.action === 'push')!.detail).toMatchObject({ ref: 'refs/heads/main', commit: expect.stringMatching(/^[0-9a-f]{40}$/) });
    const everything = (await server.ssh(admin, ['events', '--json'])).stdout + (await server.cli(['events'])).stdout;
    expect(everything).not.toContain('hunter2');
    expect(everything).toContain('"outcome": "failed: ');
    expect((await server.ssh(user, ['events'])).stderr).toBe(' !     access denied: the whole trail is for admins; give an app');
    // Nor in the build log or the server's own log.
    expect((await server.ssh(user, ['builds:output', app])).stdout).not.toContain('hunter2');
    expect(server.output).not.toContain('hunter2');
    expect(fs.readFileSync(path.join(server.home, 'logs', 'skiff.log'), 'utf8')).not.toContain('hunter2');

    expect(received.map((r) => [r.app, r.release, r.user, r.event])).toEqual([[app, 1, 'ann', 'release']]);
    expect(received[0]).toMatchObject({ url: `http://${app}.localhost:${server.routerPort}/`, description: expect.stringMatching(/^Deploy [0-9a-f]{7}$/) });
    expect(JSON.stringify(received)).not.toContain('hunter2');
  });
});

describe('SKIFF_USERS_CAN_CREATE=0', () => {
  let server: SkiffServer;
  let key: string;
  beforeAll(async () => {
    server = await SkiffServer.start({ SKIFF_USERS_CAN_CREATE: '0' });
    key = await makeKey(tempDir('keys'), 'user');
    await server.cli(['keys:add', 'uma'], fs.readFileSync(`${key}.pub`, 'utf8'));
  });
  afterAll(() => server?.cleanup());

  it('keeps app creation, by command or by push, to admins', async () => {
    const name = uniqueApp('nope');
    expect((await server.ssh(key, ['apps:create', name])).stderr).toBe(' !     access denied: only admins may create apps here');
    const push = await server.git(key, await fixtureRepo('dockerfile-hello'), ['push', server.remote(name), 'main']);
    expect(push.exitCode).not.toBe(0);
    expect(push.stderr).toContain('only admins may create apps here');
    expect((await server.cli(['apps:create', name])).exitCode).toBe(0);
  });
});
