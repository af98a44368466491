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

const IMAGE = 'skiff-test/skiff:latest';

/**
 * Skiff as its users install it from its Dockerfile: the image built from
 * the locally made Node 20 base, run as the README says (host network, the
 * engine's socket, the state directory at the same path), deploying an app
 * pushed with the real git over SSH, and serving it again after a restart.
 */
describe('the container image', () => {
  const name = `skiff-test-${Math.random().toString(36).slice(2, 8)}`;
  const app = uniqueApp('boxed');
  let home: string;
  let sshPort: number;
  let routerPort: number;
  let key: string;

  let lastLogs = '';
  const logs = async (): Promise<string> => {
    const r = await execa('docker', ['logs', name], { reject: false });
    lastLogs = `${r.stdout}\n${r.stderr}`;
    return lastLogs;
  };

  beforeAll(async () => {
    // The image's own Dockerfile, as documented, with BASE pointing at the local Node 20 image.
    await execa('docker', ['build', '-q', '--build-arg', 'BASE=skiff-test/node20:bookworm', '-t', IMAGE, ROOT]);
    home = tempDir('container-home');
    sshPort = await freePort();
    routerPort = await freePort();
    await execa('docker', [
      'run',
      '-d',
      '--name',
      name,
      '--network',
      'host',
      '-v',
      '/var/run/docker.sock:/var/run/docker.sock',
      '-v',
      `${home}:${home}`,
      '-v',
      '/sys/fs/cgroup:/sys/fs/cgroup',
      '-e',
      `SKIFF_HOME=${home}`,
      '-e',
      `SKIFF_SSH_PORT=${sshPort}`,
      '-e',
      `SKIFF_ROUTER_PORT=${routerPort}`,
      '-e',
      'SKIFF_BIND=127.0.0.1',
      '-e',
      'SKIFF_HTTP_PORT=0',
      '-e',
      'SKIFF_DOMAIN=localhost',
      '-e',
      'SKIFF_DRAIN_SECONDS=0',
      IMAGE,
    ]);
    await waitFor(
      async () => (await logs()).includes('listening for SSH'),
      60_000,
      () => `the server to start:\n${lastLogs}`,
    );
    key = await makeKey(tempDir('keys'), 'admin');
  }, 900_000);

  afterAll(async () => {
    await execa('docker', ['rm', '-f', name], { reject: false });
    await removeDockerLeftovers([app]);
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it('says how to add the first admin, takes a key, deploys a push and serves it through its own router', async () => {
    expect(await logs()).toContain("No admin yet: add the first admin's SSH key");
    expect(await logs()).toMatch(/caddy started/);
    const added = await execa('docker', ['exec', '-i', name, 'skiff', 'keys:add', 'alice', '--admin'], {
      input: fs.readFileSync(`${key}.pub`, 'utf8'),
      reject: false,
    });
    expect(added.exitCode, added.stderr).toBe(0);
    const repo = await fixtureRepo('dockerfile-hello');
    const env = { GIT_SSH_COMMAND: ['ssh', ...sshOptions(key)].join(' '), GIT_TERMINAL_PROMPT: '0' };
    const pushed = await execa('git', ['push', `ssh://git@127.0.0.1:${sshPort}/${app}.git`, 'main'], { cwd: repo, env, reject: false });
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    const url = releasedUrl(pushed.stderr) as string;
    expect(url).toBe(`http://${app}.localhost:${routerPort}/`);
    expect((await httpGet(url)).status).toBe(200);
    const doctor = await execa('ssh', [...sshOptions(key), '-p', String(sshPort), 'git@127.0.0.1', 'doctor'], { reject: false });
    expect(doctor.stdout).toMatch(/ok {4}Docker engine: answers/);
    expect(doctor.stdout).toMatch(/ok {4}caddy: \d/);
    expect(doctor.stdout).toMatch(/ok {4}git: git version/);
  });

  it('serves the app again after the container restarts', async () => {
    await execa('docker', ['restart', '-t', '5', name]);
    await waitFor(
      async () => (await logs()).split('listening for SSH').length > 2,
      60_000,
      () => `the server to start again:\n${lastLogs}`,
    );
    await waitFor(
      async () => (await httpGet(`http://${app}.localhost:${routerPort}/`).catch(() => ({ status: 0 }))).status === 200,
      30_000,
      'the app to answer',
    );
  });
});
