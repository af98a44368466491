import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Instance, ProcessSpec } from '../../src/runtime/runtime.js';
import { BASE_IMAGE } from '../helpers/base-image.js';
import { ROOT, httpGet, tempDir, uniqueApp, waitFor } from '../helpers/skiff.js';

const SYSTEMD_IMAGE = 'skiff-test/systemd:bookworm';

/**
 * The systemd runtime under a real systemd: this machine's PID 1 is not
 * systemd, so a container runs one (unprivileged, on the host's network) with
 * the engine's socket, the docker CLI and node mounted, and Skiff's runtime
 * drives it from inside. The units it writes run their containers on the
 * host's engine, published on the host's loopback.
 */
describe('the systemd runtime with systemd as PID 1', () => {
  const app = uniqueApp('sysd');
  const name = `skiff-test-systemd-${Math.random().toString(36).slice(2, 8)}`;
  const home = tempDir('sd-home');
  const options = { unitDir: '/etc/systemd/system', envDir: path.join(home, 'units'), stopTimeoutSeconds: 2 };
  const inside = (args: string[]) => execa('docker', ['exec', name, ...args], { reject: false });
  let instance: Instance;

  const spec: ProcessSpec = {
    app,
    release: 3,
    process: 'web',
    index: 1,
    image: BASE_IMAGE,
    command: 'mkdir -p /w && echo "hello $GREETING" > /w/index.html && exec busybox httpd -f -p "$PORT" -h /w',
    env: { GREETING: 'from systemd' },
    port: 5000,
    memory: 64 * 1024 * 1024,
    cpus: null,
    pids: 256,
    healthcheck: null,
  };

  beforeAll(async () => {
    const node = fs.realpathSync(process.execPath);
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
      '/usr/bin/docker:/usr/bin/docker:ro',
      '-v',
      `${node}:/usr/local/bin/node:ro`,
      '-v',
      `${ROOT}:${ROOT}:ro`,
      '-v',
      `${home}:${home}`,
      SYSTEMD_IMAGE,
    ]);
    await waitFor(
      async () => ['running', 'degraded'].includes((await inside(['systemctl', 'is-system-running'])).stdout.trim()),
      30_000,
      'systemd in the container',
    );
  });

  afterAll(async () => {
    await execa('docker', ['rm', '-f', name], { reject: false });
    const left = (await execa('docker', ['ps', '-aq', '--filter', `label=skiff.app=${app}`])).stdout.split('\n').filter(Boolean);
    if (left.length) await execa('docker', ['rm', '-f', ...left], { reject: false });
    fs.rmSync(home, { recursive: true, force: true });
  });

  const driver = (...args: string[]) => inside(['node', path.join(ROOT, 'test', 'helpers', 'systemd-driver.mjs'), ...args, JSON.stringify(options)]);

  it('starts an instance as an enabled unit whose container answers, with its env file 0600', async () => {
    const started = await driver('start', JSON.stringify(spec));
    expect(started.exitCode, started.stderr).toBe(0);
    instance = JSON.parse(started.stdout) as Instance;
    expect(instance).toMatchObject({ app, release: 3, process: 'web', index: 1, state: 'running' });
    expect((await httpGet(`http://127.0.0.1:${instance.hostPort}/`)).body).toBe('hello from systemd\n');
    expect((await inside(['systemctl', 'is-enabled', `${instance.name}.service`])).stdout.trim()).toBe('enabled');
    expect((await inside(['systemctl', 'is-active', `${instance.name}.service`])).stdout.trim()).toBe('active');
    const envFile = path.join(options.envDir, `${instance.name}.env`);
    expect(fs.statSync(envFile).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(envFile, 'utf8')).toContain('GREETING=from systemd\n');
  });

  it('is restarted by systemd when its container dies', async () => {
    await execa('docker', ['kill', instance.name]);
    await waitFor(
      async () => (await httpGet(`http://127.0.0.1:${instance.hostPort}/`, 1000).catch(() => ({ body: '' }))).body === 'hello from systemd\n',
      30_000,
      'the unit to bring the container back',
    );
    const restarts = (await inside(['systemctl', 'show', '-p', 'NRestarts', '--value', `${instance.name}.service`])).stdout.trim();
    expect(Number(restarts)).toBeGreaterThanOrEqual(1);
  });

  it("joins a linked service's network as it starts, and again when systemd restarts it", async () => {
    const network = `skiff-test-sdnet-${Math.random().toString(36).slice(2, 8)}`;
    await execa('docker', ['network', 'create', '--internal', network]);
    const networks = async (id: string): Promise<string[]> =>
      Object.keys(JSON.parse((await execa('docker', ['inspect', id])).stdout)[0].NetworkSettings.Networks).sort();
    try {
      const started = await driver('start', JSON.stringify({ ...spec, index: 2, networks: [network] }));
      expect(started.exitCode, started.stderr).toBe(0);
      const linked = JSON.parse(started.stdout) as Instance;
      expect(await networks(linked.name)).toEqual(['skiff-apps', network].sort());
      await execa('docker', ['kill', linked.name]);
      await waitFor(
        async () => (await execa('docker', ['inspect', linked.name], { reject: false })).stdout.includes('"Running": true'),
        30_000,
        'the unit to bring the container back',
      );
      expect(await networks(linked.name)).toEqual(['skiff-apps', network].sort());
      expect((await driver('stop', JSON.stringify(linked))).exitCode).toBe(0);
    } finally {
      await execa('docker', ['network', 'rm', network], { reject: false });
    }
  });

  it('stops: unit disabled and removed, container and env file gone', async () => {
    const stopped = await driver('stop', JSON.stringify(instance));
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect((await inside(['systemctl', 'is-active', `${instance.name}.service`])).stdout.trim()).not.toBe('active');
    expect((await inside(['test', '-e', `/etc/systemd/system/${instance.name}.service`])).exitCode).toBe(1);
    expect(fs.existsSync(path.join(options.envDir, `${instance.name}.env`))).toBe(false);
    await waitFor(async () => (await execa('docker', ['ps', '-aq', '--filter', `name=${instance.name}`])).stdout === '', 15_000, 'the container to go');
  });
});
