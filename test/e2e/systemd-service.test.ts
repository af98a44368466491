import fs from 'node:fs';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ROOT,
  fixtureRepo,
  freePort,
  httpGet,
  makeKey,
  releasedUrl,
  removeDockerLeftovers,
  sshOptions,
  tempDir,
  uniqueApp,
  waitFor,
} from '../helpers/skiff.js';

const SYSTEMD_IMAGE = 'skiff-test/systemd:bookworm';

/**
 * systemd/skiff.service under a real systemd (PID 1 of a container on the
 * host's network, with the engine's socket and this host's node): the
 * checkout installed as the README says (copied to /opt/skiff, set up with
 * scripts/setup.sh), the unit enabled with its hardening, an app deployed
 * through it, and a restart of the service that the app does not notice.
 */
describe('the systemd service', () => {
  const name = `skiff-test-service-${Math.random().toString(36).slice(2, 8)}`;
  const app = uniqueApp('svc');
  let sshPort: number;
  let routerPort: number;
  let key: string;
  const inside = (args: string[], input?: string) => execa('docker', ['exec', ...(input === undefined ? [] : ['-i']), name, ...args], { reject: false, input });

  beforeAll(async () => {
    sshPort = await freePort();
    routerPort = await freePort();
    await execa('docker', [
      'run',
      '-d',
      '--name',
      name,
      '--network',
      'host',
      '--tmpfs',
      '/run',
      '--tmpfs',
      '/run/lock',
      '-v',
      '/sys/fs/cgroup:/sys/fs/cgroup:ro',
      '-v',
      '/var/run/docker.sock:/var/run/docker.sock',
      '-v',
      `${fs.realpathSync(process.execPath)}:/usr/bin/node:ro`,
      // The systemd runtime's units run their containers with the docker CLI.
      '-v',
      '/usr/bin/docker:/usr/bin/docker:ro',
      '-v',
      `${ROOT}:/src:ro`,
      SYSTEMD_IMAGE,
    ]);
    await waitFor(
      async () => ['running', 'degraded'].includes((await inside(['systemctl', 'is-system-running'])).stdout.trim()),
      30_000,
      'systemd in the container',
    );
    // As the README says: the checkout in /opt/skiff (built, as a release tarball would be), set up there.
    const copy = await inside([
      'sh',
      '-c',
      'mkdir -p /opt/skiff && cd /src && tar -c --exclude=./.git --exclude=./test --exclude=./bench . | tar -x -C /opt/skiff',
    ]);
    expect(copy.exitCode, copy.stderr).toBe(0);
    const setup = await inside(['bash', '/opt/skiff/scripts/setup.sh']);
    expect(setup.exitCode, `${setup.stdout}\n${setup.stderr}`).toBe(0);
    expect(setup.stdout).not.toContain('docker.io');
    const dropIn = `[Service]\nEnvironment=SKIFF_SSH_PORT=${sshPort} SKIFF_ROUTER_PORT=${routerPort} SKIFF_BIND=127.0.0.1 SKIFF_HTTP_PORT=0 SKIFF_DRAIN_SECONDS=0\n`;
    const install = await inside(
      [
        'sh',
        '-c',
        'cp /opt/skiff/systemd/skiff.service /etc/systemd/system/ && mkdir -p /etc/systemd/system/skiff.service.d && cat > /etc/systemd/system/skiff.service.d/test.conf && systemctl daemon-reload && systemctl enable --now skiff',
      ],
      dropIn,
    );
    expect(install.exitCode, install.stderr).toBe(0);
    await waitFor(
      async () => (await inside(['journalctl', '-u', 'skiff', '--no-pager'])).stdout.includes('listening for SSH'),
      60_000,
      'skiff.service to listen',
    );
    key = await makeKey(tempDir('keys'), 'admin');
  }, 600_000);

  afterAll(async () => {
    await inside(['systemctl', 'stop', 'skiff']);
    // KillMode=process leaves Skiff's Caddy running on purpose; the container goes with everything in it.
    await execa('docker', ['rm', '-f', name], { reject: false });
    await removeDockerLeftovers([app]);
  });

  it('runs Skiff: it says how to add the first admin, takes a key and deploys a push', async () => {
    const journal = (await inside(['journalctl', '-u', 'skiff', '--no-pager'])).stdout;
    expect(journal).toContain("No admin yet: add the first admin's SSH key");
    const added = await inside(
      ['env', 'SKIFF_HOME=/var/lib/skiff', 'node', '/opt/skiff/bin/skiff.js', 'keys:add', 'alice', '--admin'],
      fs.readFileSync(`${key}.pub`, 'utf8'),
    );
    expect(added.exitCode, added.stderr).toBe(0);
    const repo = await fixtureRepo('dockerfile-hello');
    const ssh = ['ssh', ...sshOptions(key)];
    const pushed = await execa('git', ['push', `ssh://git@127.0.0.1:${sshPort}/${app}.git`, 'main'], {
      cwd: repo,
      env: { GIT_SSH_COMMAND: ssh.join(' '), GIT_TERMINAL_PROMPT: '0' },
      reject: false,
    });
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    expect(releasedUrl(pushed.stderr)).toBe(`http://${app}.localhost:${routerPort}/`);
    expect((await httpGet(`http://${app}.localhost:${routerPort}/`)).status).toBe(200);
  });

  it('moves the app to the systemd runtime: the hardened unit may write the units it runs', async () => {
    const ssh = [...sshOptions(key), '-p', String(sshPort), 'git@127.0.0.1'];
    const moved = await execa('ssh', [...ssh, 'apps:set', app, 'runtime', 'systemd'], { reject: false });
    expect(moved.exitCode, moved.stderr).toBe(0);
    const units = await inside(['systemctl', 'list-units', '--no-legend', '--plain', `skiff-${app}-*`]);
    expect(units.stdout).toMatch(new RegExp(`skiff-${app}-web\\.1-v\\d+-\\S+\\.service\\s+loaded active running`));
    expect((await httpGet(`http://${app}.localhost:${routerPort}/`)).status).toBe(200);
  });

  it('keeps the app serving through systemctl restart skiff', async () => {
    const url = `http://${app}.localhost:${routerPort}/`;
    let failed = 0;
    let sent = 0;
    let done = false;
    const probe = (async () => {
      // Bounded: at most 400 requests, 50 ms apart.
      while (!done && sent < 400) {
        sent++;
        const r = await httpGet(url, 2000).catch(() => ({ status: 0 }));
        if (r.status !== 200) failed++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const restart = await inside(['systemctl', 'restart', 'skiff']);
    expect(restart.exitCode, restart.stderr).toBe(0);
    await waitFor(
      async () => (await inside(['journalctl', '-u', 'skiff', '--no-pager'])).stdout.split('listening for SSH').length > 2,
      60_000,
      'skiff.service to listen again',
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    done = true;
    await probe;
    expect(sent).toBeGreaterThan(10);
    expect(failed, (await inside(['journalctl', '-u', 'skiff', '--no-pager', '-n', '60'])).stdout).toBe(0);
    expect((await inside(['systemctl', 'is-active', 'skiff'])).stdout.trim()).toBe('active');
  });
});
