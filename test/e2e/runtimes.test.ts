import fs from 'node:fs';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_IMAGE } from '../helpers/base-image.js';
import { SkiffServer, fixtureRepo, freePort, httpGet, makeKey, releasedUrl, removeDockerLeftovers, tempDir, uniqueApp, waitFor } from '../helpers/skiff.js';

/** Every runtime this machine can host: docker always, swarm (the global set-up makes a single-node swarm), systemd where it is PID 1. */
const RUNTIMES = ['docker', 'swarm', ...(fs.existsSync('/run/systemd/system') ? ['systemd'] : [])];

async function settings(runtime: string): Promise<Record<string, string>> {
  if (runtime === 'swarm') {
    return {
      SKIFF_SWARM_NETWORK: `skiff-test-${Math.random().toString(36).slice(2, 8)}`,
      SKIFF_SWARM_GATEWAY_PORT: String(await freePort()),
      SKIFF_SWARM_GATEWAY_IMAGE: BASE_IMAGE,
    };
  }
  return runtime === 'systemd' ? { SKIFF_SYSTEMD_DIR: '/run/systemd/system' } : {};
}

/** The same life of an app on each runtime, over the real ssh and git. */
describe.each(RUNTIMES)('an app on the %s runtime', (runtime) => {
  let server: SkiffServer;
  let key: string;
  const app = uniqueApp(`rt-${runtime.slice(0, 3)}`);
  let url: string;

  beforeAll(async () => {
    server = await SkiffServer.start({ SKIFF_RUNTIME: runtime, SKIFF_READY_TIMEOUT: '20', ...(await settings(runtime)) });
    key = await makeKey(tempDir('keys'), 'admin');
    await server.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
  });

  afterAll(async () => {
    await server?.cleanup();
    if (runtime === 'swarm') {
      await execa('docker', ['rm', '-f', `skiff-gateway-${server?.env.SKIFF_SWARM_GATEWAY_PORT}`], { reject: false });
      await waitFor(
        async () => (await execa('docker', ['network', 'rm', server.env.SKIFF_SWARM_NETWORK], { reject: false })).exitCode === 0,
        20_000,
        'network removed',
      ).catch(() => undefined);
    }
    await removeDockerLeftovers([app]);
  });

  it('deploys a push with its config', async () => {
    await server.ssh(key, ['apps:create', app]);
    await server.ssh(key, ['config:set', app, 'GREETING=one', '--no-restart']);
    const push = await server.git(key, await fixtureRepo('dockerfile-env'), ['push', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    url = releasedUrl(push.stderr)!;
    expect((await httpGet(`${url}greeting`)).body).toBe('one');
    expect(JSON.parse((await server.ssh(key, ['apps:info', app, '--json'])).stdout).runtime).toBe(runtime);
  });

  it('changes config, scales, runs a one-off and rolls back', async () => {
    expect((await server.ssh(key, ['config:set', app, 'GREETING=two'])).exitCode).toBe(0);
    expect((await httpGet(`${url}greeting`)).body).toBe('two');
    await waitFor(
      async () => (await server.ssh(key, ['logs', app, '-n', '50'])).stdout.includes('app[web.1]: started with GREETING=two'),
      15_000,
      'the new instance in the logs',
    );

    const scale = await server.ssh(key, ['ps:scale', app, 'web=2']);
    expect(scale.exitCode, scale.stderr).toBe(0);
    const ps = JSON.parse((await server.ssh(key, ['ps', app, '--json'])).stdout) as { instances: { name: string; state: string; release: number }[] };
    expect(ps.instances.filter((i) => i.state === 'running').map((i) => [i.name, i.release])).toEqual([
      ['web.1', 2],
      ['web.2', 2],
    ]);

    const run = await server.ssh(key, ['run', app, '--', 'printenv', 'GREETING']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('two');

    const rollback = await server.ssh(key, ['rollback', app]);
    expect(rollback.exitCode, rollback.stderr).toBe(0);
    expect((await httpGet(`${url}greeting`)).body).toBe('one');
  });

  it('destroys the app and everything it ran', async () => {
    const destroy = await server.ssh(key, ['apps:destroy', app, '--confirm', app]);
    expect(destroy.exitCode, destroy.stderr).toBe(0);
    expect((await httpGet(url)).status).toBe(404);
    await waitFor(async () => (await execa('docker', ['ps', '-q', '--filter', `label=skiff.app=${app}`])).stdout === '', 30_000, `containers of ${app} gone`);
    expect((await execa('docker', ['service', 'ls', '-q', '--filter', `label=skiff.app=${app}`], { reject: false })).stdout).toBe('');
  });
});
