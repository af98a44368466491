import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SkiffServer, fixtureRepo, httpGet, makeKey, removeDockerLeftovers, tempDir, uniqueApp } from '../helpers/skiff.js';

// Serves /greeting from its config, and /health only when HEALTHY=1: production's config can fail the check.
const WEB = `web: mkdir -p /www && if [ "$HEALTHY" = 1 ]; then echo ok > /www/health; fi && printf '%s' "$GREETING" > /www/greeting && exec busybox httpd -f -p "$PORT" -h /www`;

/** Promotion over the real ssh, git and engine: the image staging built, released on production with production's config. */
describe('pipelines', () => {
  let server: SkiffServer;
  let key: string;
  const staging = uniqueApp('stg');
  const production = uniqueApp('prd');
  const line = uniqueApp('line');

  const ssh = (args: string[]): ReturnType<SkiffServer['ssh']> => server.ssh(key, args);
  const serving = async (app: string): Promise<string> => (await httpGet(`${JSON.parse((await ssh(['apps:info', app, '--json'])).stdout).url}greeting`)).body;
  const runningImage = async (app: string): Promise<string> => {
    const ids = (await execa('docker', ['ps', '-q', '--filter', `label=skiff.app=${app}`, '--filter', 'label=skiff.process=web'])).stdout
      .split('\n')
      .filter(Boolean);
    const images = (await execa('docker', ['inspect', '--format', '{{.Image}}', ...ids])).stdout.split('\n');
    expect(new Set(images).size).toBe(1);
    return images[0];
  };

  beforeAll(async () => {
    server = await SkiffServer.start({ SKIFF_READY_TIMEOUT: '5', SKIFF_DRAIN_SECONDS: '0' });
    key = await makeKey(tempDir('keys'), 'admin');
    await server.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
    for (const [app, greeting] of [
      [staging, 'staging'],
      [production, 'production'],
    ]) {
      expect((await ssh(['apps:create', app])).exitCode).toBe(0);
      expect((await ssh(['config:set', app, `GREETING=${greeting}`, 'HEALTHY=1'])).exitCode).toBe(0);
    }
    expect((await ssh(['pipelines:create', line])).exitCode).toBe(0);
    expect((await ssh(['pipelines:add', line, staging, '--stage', 'staging'])).exitCode).toBe(0);
    expect((await ssh(['pipelines:add', line, production, '--stage', 'production'])).exitCode).toBe(0);
  });

  afterAll(async () => {
    await server?.cleanup();
    await removeDockerLeftovers([staging, production]);
  });

  it('puts the exact image staging runs in production, with production’s config, and no build', async () => {
    const repo = await fixtureRepo('dockerfile-env', (d) => {
      fs.writeFileSync(path.join(d, 'Procfile'), `${WEB}\n`);
      fs.writeFileSync(path.join(d, 'skiff.yml'), 'healthcheck: /health\n');
    });
    const pushed = await server.git(key, repo, ['push', server.remote(staging), 'main']);
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    const promoted = await ssh(['pipelines:promote', staging]);
    expect(promoted.exitCode, promoted.stderr).toBe(0);
    expect(promoted.stdout).toContain(`Promoting ${staging} v1 to ${production}`);
    expect(promoted.stdout).not.toContain('Building');
    expect(await serving(production)).toBe('production');
    expect(await serving(staging)).toBe('staging');
    expect(await runningImage(production)).toBe(await runningImage(staging));
    // No build ran for production: it has no build record, and its release says where it came from.
    expect(JSON.parse((await ssh(['builds', production, '--json'])).stdout)).toEqual([]);
    const [rel] = JSON.parse((await ssh(['releases', production, '--json'])).stdout) as { description: string; buildId: number | null }[];
    expect(rel.description).toMatch(new RegExp(`^Promote ${staging} v1 \\(sha256:[0-9a-f]{12}, commit [0-9a-f]{7}\\)$`));
    const shown = JSON.parse((await ssh(['pipelines', line, '--json'])).stdout) as { apps: { app: string; stage: string; image: string; release: number }[] };
    expect(shown.apps.map((a) => [a.stage, a.app, a.release])).toEqual([
      ['staging', staging, 1],
      ['production', production, 1],
    ]);
    expect(shown.apps[0].image).toBe(shown.apps[1].image);
    expect(shown.apps[0].image).toBe(await runningImage(production));
  });

  it('leaves production on its release when the promoted one fails its checks there, and exits non-zero naming it', async () => {
    expect((await ssh(['config:set', production, 'HEALTHY=0', '--no-restart'])).exitCode).toBe(0);
    const before = await runningImage(production);
    const failed = await ssh(['pipelines:promote', staging]);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toMatch(new RegExp(`promotion failed for ${production}: the new release answered /health with 404`));
    expect(await runningImage(production)).toBe(before);
    expect(await serving(production)).toBe('production');
    const current = JSON.parse((await ssh(['apps:info', production, '--json'])).stdout).release.version as number;
    expect(current).toBe(1);
  });

  it('deploys a tag pushed to production with the image staging built for its commit, and builds a commit no stage released', async () => {
    expect((await ssh(['config:set', production, 'HEALTHY=1', 'GREETING=tagged', '--no-restart'])).exitCode).toBe(0);
    const repo = await fixtureRepo('dockerfile-env', (d) => {
      fs.writeFileSync(path.join(d, 'Procfile'), `${WEB}\n`);
      fs.writeFileSync(path.join(d, 'skiff.yml'), 'healthcheck: /health\n');
    });
    // The same commit staging released (the fixture is made the same way: same tree, same commit? not guaranteed), so take staging's own.
    await execa('git', ['fetch', '-q', server.remote(staging), 'main:staged'], { cwd: repo, env: server.gitEnv(key) });
    await execa('git', ['tag', 'v1.0.0', 'staged'], { cwd: repo });
    const tagged = await server.git(key, repo, ['push', server.remote(production), 'v1.0.0']);
    expect(tagged.exitCode, tagged.stderr).toBe(0);
    expect(tagged.stderr).toMatch(new RegExp(`Deploying tag v1.0.0 \\([0-9a-f]{7}\\) with the image staging built: ${staging} v1, not rebuilt`));
    expect(tagged.stderr).not.toContain('Building');
    expect(await serving(production)).toBe('tagged');
    expect(await runningImage(production)).toBe(await runningImage(staging));
    expect(JSON.parse((await ssh(['builds', production, '--json'])).stdout)).toEqual([]);

    // A commit no stage released is built for production.
    fs.writeFileSync(path.join(repo, 'extra.txt'), 'new\n');
    await execa('git', ['checkout', '-q', '-b', 'hotfix', 'staged'], { cwd: repo });
    await execa('git', ['add', '-A'], { cwd: repo });
    await execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'hotfix'], { cwd: repo });
    await execa('git', ['tag', '-a', '-m', 'hotfix', 'v1.0.1'], { cwd: repo });
    const built = await server.git(key, repo, ['push', server.remote(production), 'v1.0.1']);
    expect(built.exitCode, built.stderr).toBe(0);
    expect(built.stderr).toContain('Deploying tag v1.0.1');
    expect(built.stderr).toContain('no earlier stage released it, so it is built here');
    expect(JSON.parse((await ssh(['builds', production, '--json'])).stdout)).toHaveLength(1);
    expect(await runningImage(production)).not.toBe(await runningImage(staging));
  });

  it('gives each stage its scale and limits from skiff.yml, and a config group’s change reaches each app as a release', async () => {
    const repo = await fixtureRepo('dockerfile-env', (d) => {
      fs.writeFileSync(path.join(d, 'Procfile'), `${WEB}\n`);
      fs.writeFileSync(
        path.join(d, 'skiff.yml'),
        'healthcheck: /health\nenvironments:\n  production:\n    scale: {web: 2}\n    resources: {web: {memory: 300m}}\n',
      );
    });
    expect((await server.git(key, repo, ['push', '-f', server.remote(staging), 'main'])).exitCode).toBe(0);
    const promoted = await ssh(['pipelines:promote', staging]);
    expect(promoted.exitCode, promoted.stderr).toBe(0);
    expect(promoted.stdout).toContain('production environment (skiff.yml): web=2; web memory 300m');
    const webs = async (app: string): Promise<string[]> =>
      (await execa('docker', ['ps', '-q', '--filter', `label=skiff.app=${app}`, '--filter', 'label=skiff.process=web'])).stdout.split('\n').filter(Boolean);
    expect(await webs(staging)).toHaveLength(1);
    const prod = await webs(production);
    expect(prod).toHaveLength(2);
    expect((await execa('docker', ['inspect', '--format', '{{.HostConfig.Memory}}', ...prod])).stdout.split('\n')).toEqual([
      String(300 * 1024 * 1024),
      String(300 * 1024 * 1024),
    ]);

    const group = uniqueApp('grp');
    expect((await ssh(['config:groups:create', group])).exitCode).toBe(0);
    // A change to a group no app uses says so, rather than nothing.
    const lonely = await ssh(['config:set', '--group', group, 'UNUSED=1']);
    expect(lonely.stdout).toContain(`Changed config group ${group}; no app uses it yet (config:groups:add ${group} APP)`);
    expect((await ssh(['config:unset', '--group', group, 'UNUSED'])).exitCode).toBe(0);
    for (const app of [staging, production]) expect((await ssh(['config:groups:add', group, app])).exitCode).toBe(0);
    const versions = async (app: string): Promise<number> => JSON.parse((await ssh(['apps:info', app, '--json'])).stdout).release.version as number;
    const before = [await versions(staging), await versions(production)];
    const set = await ssh(['config:set', '--group', group, 'ENDPOINT=https://shared.example']);
    expect(set.exitCode, set.stderr).toBe(0);
    expect(set.stdout).toContain(`Released to ${staging}, ${production}`);
    expect([await versions(staging), await versions(production)]).toEqual([before[0] + 1, before[1] + 1]);
    for (const app of [staging, production]) {
      expect((await ssh(['run', app, 'printenv', 'ENDPOINT'])).stdout).toBe('https://shared.example');
      const origins = JSON.parse((await ssh(['config', app, '--show-origin', '--json'])).stdout) as Record<string, { value: string; origin: string }>;
      expect(origins.ENDPOINT).toEqual({ value: 'https://shared.example', origin: `group ${group}` });
      expect(origins.GREETING.origin).toBe('app');
    }
  });
});
