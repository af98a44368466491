import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SkiffServer,
  commitAll,
  fixtureRepo,
  FIXTURE_APPS,
  httpGet,
  makeKey,
  releasedUrl,
  removeDockerLeftovers,
  tempDir,
  uniqueApp,
} from '../helpers/skiff.js';

/** git over HTTP with a token, through the real git client; TLS would sit in front. */
describe('git over HTTP with a token', () => {
  let server: SkiffServer;
  const keys: Record<string, string> = {};
  const tokens: Record<string, string> = {};
  const app = uniqueApp('web');
  let repo: string;
  const git = (cwd: string, args: string[]) =>
    execa('git', ['-c', 'credential.helper=', ...args], { cwd, reject: false, env: { GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '/bin/false' } });
  const remote = (user: string, token: string, name = app) => `http://${user}:${token}@127.0.0.1:${server.httpPort}/${name}.git`;

  beforeAll(async () => {
    server = await SkiffServer.start();
    const dir = tempDir('keys');
    for (const user of ['hana', 'sam']) {
      keys[user] = await makeKey(dir, user);
      await server.cli(['keys:add', user], fs.readFileSync(`${keys[user]}.pub`, 'utf8'));
      const made = await server.ssh(keys[user], ['tokens:create', '--name', 'laptop', '--expires', '30']);
      expect(made.exitCode, made.stderr).toBe(0);
      tokens[user] = /^(skf_\S+)$/m.exec(made.stdout)![1];
    }
    repo = await fixtureRepo('dockerfile-hello');
  });

  afterAll(async () => {
    await server?.cleanup();
    await removeDockerLeftovers([app]);
  });

  it('pushes, streaming the build as remote: lines, and serves the app', async () => {
    const push = await git(repo, ['push', remote('hana', tokens.hana), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(JSON.parse((await server.ssh(keys.hana, ['access', app, '--json'])).stdout)).toEqual({ owner: 'hana', users: [] });
    expect(push.stderr).toMatch(/remote: +Step \d+\/\d+ : FROM/);
    expect(await httpGet(releasedUrl(push.stderr)!)).toEqual({ status: 200, body: 'hello from v1\n' });
    const events = JSON.parse((await server.ssh(keys.hana, ['events', app, '--json'])).stdout) as { action: string; source: string; user: string }[];
    expect(events.find((e) => e.action === 'push')).toMatchObject({ user: 'hana', source: expect.stringMatching(/^https token \d+ from 127\.0\.0\.1$/) });
  });

  it('clones with a token', async () => {
    const dir = tempDir('clone');
    const clone = await git(dir, ['clone', '-q', remote('hana', tokens.hana), 'copy']);
    expect(clone.exitCode, clone.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'copy', 'index.html'), 'utf8')).toBe('hello from v1\n');
  });

  it('rejects a push whose build fails, over HTTP too', async () => {
    fs.copyFileSync(path.join(FIXTURE_APPS, 'dockerfile-broken', 'Dockerfile'), path.join(repo, 'Dockerfile'));
    await commitAll(repo, 'broken');
    const push = await git(repo, ['push', remote('hana', tokens.hana), 'main']);
    expect(push.exitCode).not.toBe(0);
    expect(push.stderr).toContain('pre-receive hook declined');
    expect(push.stderr).toContain('about to fail');
    await execa('git', ['reset', '-q', '--hard', 'HEAD~1'], { cwd: repo });
  });

  it('refuses another user’s app, wrong tokens, and revoked ones', async () => {
    const stranger = await git(tempDir('s'), ['clone', remote('sam', tokens.sam), 'x']);
    expect(stranger.exitCode).not.toBe(0);
    expect(stranger.stderr).toMatch(/403/);
    // A token only works with its own user name.
    expect((await git(tempDir('w'), ['clone', remote('sam', tokens.hana), 'x'])).stderr).toMatch(/Authentication failed|401/);
    expect((await git(tempDir('w'), ['clone', remote('hana', 'skf_wrong'), 'x'])).stderr).toMatch(/Authentication failed|401/);
    const list = JSON.parse((await server.ssh(keys.hana, ['tokens', '--json'])).stdout) as { id: number; user: string; lastUsedAt: string | null }[];
    expect(list).toHaveLength(1);
    expect(list[0].lastUsedAt).not.toBeNull();
    expect((await server.ssh(keys.sam, ['tokens:revoke', String(list[0].id)])).exitCode).toBe(1);
    expect((await server.ssh(keys.hana, ['tokens:revoke', String(list[0].id)])).exitCode).toBe(0);
    const revoked = await git(tempDir('r'), ['clone', remote('hana', tokens.hana), 'x']);
    expect(revoked.exitCode).not.toBe(0);
    expect(revoked.stderr).toMatch(/Authentication failed|401/);
    // Over plain HTTP the answer to a bad token is a bare 401, nothing else.
    const res = await fetch(`http://127.0.0.1:${server.httpPort}/${app}.git/info/refs?service=git-upload-pack`, {
      headers: { authorization: `Basic ${Buffer.from(`hana:${tokens.hana}`).toString('base64')}` },
    });
    expect(res.status).toBe(401);
    expect(await res.text()).toBe('authentication required\n');
  });

  it('slows down whoever keeps guessing', async () => {
    // From an address of its own, so the misses above do not count.
    const guess = (i: number) =>
      new Promise<number>((resolve, reject) => {
        const req = http.get(
          {
            host: '127.0.0.1',
            localAddress: '127.0.0.3',
            agent: false,
            port: server.httpPort,
            path: `/${app}.git/info/refs?service=git-upload-pack`,
            headers: { authorization: `Basic ${Buffer.from(`hana:guess${i}`).toString('base64')}` },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
      });
    const started = Date.now();
    for (let i = 0; i < 6; i++) expect(await guess(i)).toBe(401);
    // 0, 0, 0, 250, 500, 1000 ms of delay after the first misses: at least 1.7 s in all.
    expect(Date.now() - started).toBeGreaterThan(1700);
  });
});
