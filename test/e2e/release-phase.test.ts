import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SkiffServer, commitAll, fixtureRepo, httpGet, makeKey, releasedUrl, removeDockerLeftovers, tempDir, uniqueApp } from '../helpers/skiff.js';

const WEB = `web: printf '%s' "$GREETING" > /www/greeting && exec busybox httpd -f -p "$PORT" -h /www`;
const procfile = (release: string): string => `${WEB}\nrelease: ${release}\n`;
const count = (text: string, needle: string): number => text.split(needle).length - 1;

/** The Procfile's release command: once per release, before the new instances, over the real ssh, git and engine. */
describe('the release phase', () => {
  let server: SkiffServer;
  let key: string;
  const app = uniqueApp('relph');
  let repo: string;

  const setRelease = async (release: string): Promise<void> => {
    fs.writeFileSync(path.join(repo, 'Procfile'), procfile(release));
    await commitAll(repo, `release: ${release}`);
  };
  const push = (): ReturnType<SkiffServer['git']> => server.git(key, repo, ['push', server.remote(app), 'main']);
  const serving = async (): Promise<string> => (await httpGet(`${JSON.parse((await server.ssh(key, ['apps:info', app, '--json'])).stdout).url}greeting`)).body;
  const oneOffs = async (): Promise<string> =>
    (await execa('docker', ['ps', '-aq', '--filter', `label=skiff.app=${app}`, '--filter', 'label=skiff.process=run'])).stdout;

  beforeAll(async () => {
    server = await SkiffServer.start({ SKIFF_RELEASE_TIMEOUT: '5', SKIFF_DRAIN_SECONDS: '0' });
    key = await makeKey(tempDir('keys'), 'admin');
    await server.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
    repo = await fixtureRepo('dockerfile-env', (d) => fs.writeFileSync(path.join(d, 'Procfile'), procfile('echo "release ran with GREETING=$GREETING"')));
  });

  afterAll(async () => {
    await server?.cleanup();
    await removeDockerLeftovers([app]);
  });

  it('runs once per release, before the new instances, with the new config, even at web=3; its output is kept', async () => {
    const first = await push();
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stderr).toContain('Running the release phase: echo "release ran with GREETING=$GREETING"');
    expect(first.stderr.indexOf('release ran with GREETING=')).toBeLessThan(first.stderr.indexOf('web.1 answers HTTP'));
    expect((await server.ssh(key, ['ps:scale', app, 'web=3'])).exitCode).toBe(0);

    const set = await server.ssh(key, ['config:set', app, 'GREETING=hi']);
    expect(set.exitCode, set.stderr).toBe(0);
    expect(count(set.stdout, 'release ran with GREETING=hi')).toBe(1);
    expect(count(set.stdout, 'answers HTTP')).toBe(3);
    expect(await serving()).toBe('hi');
    const output = await server.ssh(key, ['releases:output', app, 'v2']);
    expect(output.stdout).toBe('release ran with GREETING=hi');
    // The one-off is gone, and release is no process type.
    expect(await oneOffs()).toBe('');
    expect(JSON.parse((await server.ssh(key, ['ps', app, '--json'])).stdout).formation.map((f: { process: string }) => f.process)).toEqual(['web']);
    const scale = await server.ssh(key, ['ps:scale', app, 'release=1']);
    expect(scale.exitCode).toBe(1);
    expect(scale.stderr).toContain('release is the release phase');
  });

  it('refuses a push whose release command fails; the previous release keeps serving', async () => {
    await setRelease('echo failing on purpose; exit 3');
    const failed = await push();
    expect(failed.exitCode).not.toBe(0);
    expect(failed.stderr).toContain('failing on purpose');
    expect(failed.stderr).toContain('the release command exited with status 3; v3 is not released; v2 keeps serving');
    expect(await serving()).toBe('hi');
    const releases = JSON.parse((await server.ssh(key, ['releases', app, '--json'])).stdout) as { version: number; status: string; current: boolean }[];
    expect(releases.find((r) => r.version === 3)?.status).toBe('failed');
    expect(releases.find((r) => r.current)?.version).toBe(2);
    expect(await oneOffs()).toBe('');
  });

  it('stops a release command that runs past SKIFF_RELEASE_TIMEOUT, and refuses the release', async () => {
    await setRelease('echo migrating forever; sleep 120');
    const started = Date.now();
    const slow = await push();
    expect(slow.exitCode).not.toBe(0);
    expect(slow.stderr).toContain('the release command ran past SKIFF_RELEASE_TIMEOUT (5 s) and was stopped');
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(await serving()).toBe('hi');
    expect(await oneOffs()).toBe('');
  });

  it('is skipped with --no-release-phase, which the audit trail records', async () => {
    await setRelease('echo "release ran with GREETING=$GREETING"');
    expect((await push()).exitCode).toBe(0);
    const set = await server.ssh(key, ['config:set', app, 'GREETING=quiet', '--no-release-phase']);
    expect(set.exitCode, set.stderr).toBe(0);
    expect(set.stdout).toContain('Release phase skipped');
    expect(set.stdout).not.toContain('release ran with GREETING=quiet');
    expect(await serving()).toBe('quiet');
    const events = JSON.parse((await server.ssh(key, ['events', app, '--json'])).stdout) as { action: string; detail: Record<string, unknown> }[];
    expect(events.find((e) => e.action === 'config:set')?.detail).toEqual({ keys: ['GREETING'], restart: true, releasePhase: false });
    const version = JSON.parse((await server.ssh(key, ['apps:info', app, '--json'])).stdout).release.version as number;
    const output = await server.ssh(key, ['releases:output', app, `v${version}`]);
    expect(output.exitCode).toBe(1);
    expect(output.stderr).toContain('release phase did not run');
  });

  it('releases pending config on ps:restart, release phase included, and shows it as pending until then', async () => {
    expect((await server.ssh(key, ['config:set', app, 'GREETING=later', '--no-restart'])).exitCode).toBe(0);
    const shown = await server.ssh(key, ['config', app]);
    expect(shown.stdout).toContain('Pending (set GREETING)');
    expect(await serving()).toBe('quiet');
    const restart = await server.ssh(key, ['ps:restart', app]);
    expect(restart.exitCode, restart.stderr).toBe(0);
    expect(restart.stdout).toContain('with its pending config (GREETING)');
    expect(count(restart.stdout, 'release ran with GREETING=later')).toBe(1);
    expect(await serving()).toBe('later');
    expect((await server.ssh(key, ['config', app])).stdout).not.toContain('Pending');
    const released = releasedUrl(restart.stdout);
    expect(released).toBeDefined();
  });

  it('runs for a rollback, with the config of the release rolled back to', async () => {
    const back = await server.ssh(key, ['rollback', app]);
    expect(back.exitCode, back.stderr).toBe(0);
    expect(count(back.stdout, 'release ran with GREETING=quiet')).toBe(1);
    expect(await serving()).toBe('quiet');
  });
});
