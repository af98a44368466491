import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepo } from '../helpers/skiff.js';
import { Tenants } from '../helpers/tenants.js';

/**
 * Attack: use the release phase, which runs a pushed command once per
 * release, as a way out of an app's share: reach the engine's socket, run
 * without the app's limits, leave a process running after the release, or
 * run forever.
 */
describe('the release phase keeps to the app’s share', () => {
  let t: Tenants;
  let app: string;

  beforeAll(async () => {
    t = await Tenants.start({ SKIFF_RELEASE_TIMEOUT: '4', SKIFF_PIDS_LIMIT: '200', SKIFF_DEFAULT_MEMORY: '256' });
    app = t.app('sneaky');
  });
  afterAll(async () => t?.cleanup());

  const pushWith = async (release: string): Promise<Awaited<ReturnType<Tenants['push']>>> =>
    t.push(
      'mallory',
      await fixtureRepo('dockerfile-hello', (d) =>
        fs.writeFileSync(path.join(d, 'Procfile'), `web: exec busybox httpd -f -p "$PORT" -h /www\nrelease: ${release}\n`),
      ),
      app,
      '+main',
    );

  it('runs with no engine socket, the app’s limits, and nothing of it left once it exits', async () => {
    const probe = [
      '[ -e /var/run/docker.sock ] && echo SOCKET=yes || echo SOCKET=no',
      'echo PIDS=$(cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max)',
      'echo MEMORY=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes)',
      // A process meant to outlive the release.
      '(sleep 300 &)',
    ].join('; ');
    const push = await pushWith(probe);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toContain('SOCKET=no');
    expect(push.stderr).toContain('PIDS=200');
    expect(push.stderr).toContain(`MEMORY=${256 * 1024 * 1024}`);
    const left = await execa('docker', ['ps', '-aq', '--filter', `label=skiff.app=${app}`, '--filter', 'label=skiff.process=run']);
    expect(left.stdout).toBe('');
  });

  it('is stopped at SKIFF_RELEASE_TIMEOUT, its container removed, and the release refused', async () => {
    const push = await pushWith('trap "" TERM; while true; do sleep 1; done');
    expect(push.exitCode).not.toBe(0);
    expect(push.stderr).toContain('ran past SKIFF_RELEASE_TIMEOUT (4 s)');
    const left = await execa('docker', ['ps', '-aq', '--filter', `label=skiff.app=${app}`, '--filter', 'label=skiff.process=run']);
    expect(left.stdout).toBe('');
  });

  it('shows its output to those who may use the app only', async () => {
    const other = await t.ssh('victim', ['releases:output', app, 'v1']);
    expect(other.exitCode).toBe(1);
    expect(other.stderr).toContain('access denied');
    expect((await t.ssh('mallory', ['releases:output', app, 'v1'])).stdout).toContain('SOCKET=no');
  });

  it('an app.json postdeploy that never ends is stopped at SKIFF_RELEASE_TIMEOUT; the push ends and leaves nothing running', async () => {
    const repo = await fixtureRepo('dockerfile-hello', (d) => {
      fs.writeFileSync(path.join(d, 'Procfile'), 'web: exec busybox httpd -f -p "$PORT" -h /www\n');
      fs.writeFileSync(path.join(d, 'app.json'), JSON.stringify({ scripts: { dokku: { postdeploy: 'trap "" TERM; while true; do sleep 1; done' } } }));
    });
    const started = Date.now();
    const push = await t.push('mallory', repo, app, '+main');
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toMatch(/app.json's dokku postdeploy ran past SKIFF_RELEASE_TIMEOUT \(4 s\) and was stopped; v\d+ is serving/);
    expect(Date.now() - started).toBeLessThan(60_000);
    const left = await execa('docker', ['ps', '-aq', '--filter', `label=skiff.app=${app}`, '--filter', 'label=skiff.process=run']);
    expect(left.stdout).toBe('');
  });

  const predeployRepo = (predeploy: string, dockerfileLine = ''): Promise<string> =>
    fixtureRepo('dockerfile-hello', (d) => {
      fs.writeFileSync(path.join(d, 'index.html'), "mallory's page\n");
      fs.appendFileSync(path.join(d, 'Dockerfile'), dockerfileLine);
      fs.writeFileSync(path.join(d, 'app.json'), JSON.stringify({ scripts: { dokku: { predeploy } } }));
    });

  it("app.json's predeploy, whose changes are kept, runs in the same share: no socket, the app's limits, stopped at the timeout, nothing left", async () => {
    const push = await t.push(
      'mallory',
      await predeployRepo(
        '[ -e /var/run/docker.sock ] && echo SOCKET=yes || echo SOCKET=no; echo PIDS=$(cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max)',
      ),
      app,
      '+main',
    );
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toContain('SOCKET=no');
    expect(push.stderr).toContain('PIDS=200');
    const forever = await t.push('mallory', await predeployRepo('trap "" TERM; while true; do sleep 1; done'), app, '+main');
    expect(forever.exitCode).not.toBe(0);
    expect(forever.stderr).toContain("app.json's predeploy ran past SKIFF_RELEASE_TIMEOUT (4 s)");
    const left = await execa('docker', ['ps', '-aq', '--filter', `label=skiff.app=${app}`, '--filter', 'label=skiff.process=run']);
    expect(left.stdout).toBe('');
  });

  it("a Dockerfile label naming another app's image as where predeploy ran before does not start predeploy from that image", async () => {
    const victimApp = t.app('kept');
    expect((await t.ssh('victim', ['apps:create', victimApp])).exitCode).toBe(0);
    const victimRepo = await fixtureRepo('dockerfile-hello', (d) => fs.writeFileSync(path.join(d, 'index.html'), "victim's private page\n"));
    expect((await t.push('victim', victimRepo, victimApp)).exitCode).toBe(0);
    const victimImage = (await execa('docker', ['image', 'inspect', '--format', '{{.Id}}', `skiff/${victimApp}:v1`])).stdout;
    // Spelled through a variable: written plainly, a skiff.* label is refused before the build (image-labels.test.ts).
    const label = `ARG KEPT=skiff.kept-from\nLABEL \${KEPT}=${victimImage}\n`;
    const push = await t.push('mallory', await predeployRepo('cat /www/index.html', label), app, '+main');
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toContain("mallory's page");
    expect(push.stderr).not.toContain('victim');
  });
});
