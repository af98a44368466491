import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SkiffServer, commitAll, fixtureRepo, httpGet, makeKey, releasedUrl, removeDockerLeftovers, tempDir, uniqueApp } from '../helpers/skiff.js';

/** Config vars, releases and rollback, over the real ssh and git. */
describe('config, releases and rollback', () => {
  let server: SkiffServer;
  let key: string;
  const app = uniqueApp('conf');
  let repo: string;

  const greeting = async (url: string): Promise<string> => (await httpGet(`${url}greeting`)).body;
  const currentUrl = async (): Promise<string> => JSON.parse((await server.ssh(key, ['apps:info', app, '--json'])).stdout).url as string;

  beforeAll(async () => {
    server = await SkiffServer.start({ SKIFF_KEEP_RELEASES: '3' });
    key = await makeKey(tempDir('keys'), 'admin');
    await server.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
    repo = await fixtureRepo('dockerfile-env');
  });

  afterAll(async () => {
    await server?.cleanup();
    await removeDockerLeftovers([app]);
  });

  it('keeps config set before the first deploy and starts the app with it', async () => {
    expect((await server.ssh(key, ['apps:create', app])).exitCode).toBe(0);
    const set = await server.ssh(key, ['config:set', app, 'GREETING=hello']);
    expect(set.exitCode, set.stderr).toBe(0);
    expect(set.stdout).toBe('-----> Set GREETING (takes effect with the first deploy)');
    const push = await server.git(key, repo, ['push', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(await greeting(releasedUrl(push.stderr)!)).toBe('hello');
  });

  it('round-trips values with spaces, quotes, = and newlines, through both doors', async () => {
    const value = `a "quoted" 'single' = sign\nsecond line $HOME \`x\``;
    // On the host the words arrive as they are.
    const host = await server.cli(['config:set', app, `TRICKY=${value}`, '--no-restart']);
    expect(host.exitCode, host.stderr).toBe(0);
    expect(host.stdout).toBe('-----> Set TRICKY (takes effect with the next release)');
    expect((await server.ssh(key, ['config:get', app, 'TRICKY'])).stdout).toBe(value);
    expect(JSON.parse((await server.ssh(key, ['config', app, '--json'])).stdout)).toEqual({ GREETING: 'hello', TRICKY: value });
    // Over SSH the command is one string, split like sh would: quote it for the far side.
    const quoted = `'SPACED=${'two  words = here'}'`;
    expect((await server.ssh(key, ['config:set', app, quoted, '--no-restart'])).exitCode).toBe(0);
    expect((await server.cli(['config:get', app, 'SPACED'])).stdout).toBe('two  words = here');
    expect((await server.ssh(key, ['releases', app, '--json'])).stdout).not.toContain('second line');
  });

  it('refuses bad keys, PORT, and oversize values, changing nothing', async () => {
    const before = (await server.ssh(key, ['config', app, '--json'])).stdout;
    for (const [args, message] of [
      [['1BAD=x'], /invalid config key '1BAD'/],
      [['PORT=80'], /PORT is set by Skiff/],
      [['NOEQUALS'], /'NOEQUALS' is not KEY=VALUE/],
      [[`BIG=${'x'.repeat(40 * 1024)}`], /too large/],
    ] as const) {
      const r = await server.cli(['config:set', app, ...args]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(message);
    }
    expect((await server.ssh(key, ['config', app, '--json'])).stdout).toBe(before);
  });

  it('restarts with the new value on config:set, as a new release named for the key', async () => {
    const set = await server.ssh(key, ['config:set', app, 'GREETING=bonjour']);
    expect(set.exitCode, set.stderr).toBe(0);
    expect(set.stdout).toContain(`-----> Set GREETING and restarting ${app}`);
    const url = releasedUrl(set.stdout)!;
    expect(url).toBe(await currentUrl());
    expect(await greeting(url)).toBe('bonjour');
    const releases = JSON.parse((await server.ssh(key, ['releases', app, '--json'])).stdout) as { version: number; description: string; current: boolean }[];
    expect(releases[0]).toMatchObject({ version: 2, description: 'Set GREETING', current: true });
    const info = await server.ssh(key, ['releases:info', app, 'v2']);
    expect(info.stdout).toMatch(/Config: +GREETING, SPACED, TRICKY/);
    expect(info.stdout).not.toContain('bonjour');
  });

  it('unsets a var and restarts', async () => {
    const unset = await server.ssh(key, ['config:unset', app, 'TRICKY', 'SPACED']);
    expect(unset.exitCode, unset.stderr).toBe(0);
    expect(JSON.parse((await server.ssh(key, ['config', app, '--json'])).stdout)).toEqual({ GREETING: 'bonjour' });
    const missing = await server.ssh(key, ['config:unset', app, 'NOPE']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toBe(` !     ${app} has no config var NOPE`);
  });

  it('rolls back to the previous release without rebuilding, restoring its image and config', async () => {
    fs.writeFileSync(path.join(repo, 'index.html'), 'env app v2\n');
    await commitAll(repo, 'v2');
    const push = await server.git(key, repo, ['push', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect((await httpGet(releasedUrl(push.stderr)!)).body).toBe('env app v2\n');

    const rollback = await server.ssh(key, ['rollback', app]);
    expect(rollback.exitCode, rollback.stderr).toBe(0);
    expect(rollback.stdout).toContain(`-----> Rolling back ${app} to v3`);
    expect(rollback.stdout).not.toContain('Building');
    const url = releasedUrl(rollback.stdout)!;
    expect((await httpGet(url)).body).toBe('env app\n');
    expect(await greeting(url)).toBe('bonjour');
    const releases = JSON.parse((await server.ssh(key, ['releases', app, '--json'])).stdout) as { version: number; description: string; current: boolean }[];
    expect(releases[0]).toMatchObject({ version: 5, description: 'Rollback to v3', current: true });

    const explicit = await server.ssh(key, ['rollback', app, 'v4']);
    expect(explicit.exitCode, explicit.stderr).toBe(0);
    expect((await httpGet(releasedUrl(explicit.stdout)!)).body).toBe('env app v2\n');
  });

  it('refuses rollbacks that make no sense, with a way forward', async () => {
    const current = await server.ssh(key, ['rollback', app, 'v6']);
    expect(current.stderr).toBe(' !     v6 is already serving');
    const bad = await server.ssh(key, ['rollback', app, 'latest']);
    expect(bad.stderr).toBe(` !     'latest' is not a release; write it as v3 (releases APP lists them)`);
    const none = await server.ssh(key, ['rollback', app, 'v99']);
    expect(none.stderr).toBe(` !     ${app} has no release v99; releases ${app} lists them`);
  });

  it('prunes release images beyond SKIFF_KEEP_RELEASES and says so on rollback', async () => {
    const tags = (await execa('docker', ['images', `skiff/${app}`, '--format', '{{.Tag}}'])).stdout.split('\n').sort();
    // Releases 1..6 deployed, keep 3: v4, v5, v6 remain.
    expect(tags).toEqual(['v4', 'v5', 'v6']);
    const old = await server.ssh(key, ['rollback', app, 'v2']);
    expect(old.exitCode).toBe(1);
    expect(old.stderr).toMatch(/the image of v2 was pruned/);
  });
});
