import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_IMAGE } from '../helpers/base-image.js';
import { inspectService, underLoad } from '../helpers/swarm.js';
import {
  SkiffServer,
  commitAll,
  fixtureRepo,
  freePort,
  httpGet,
  makeKey,
  releasedUrl,
  removeDockerLeftovers,
  tempDir,
  uniqueApp,
  waitFor,
} from '../helpers/skiff.js';

/** The swarm runtime on a single-node swarm on loopback (made by the global set-up): services, rolling updates, rollback by itself. */
describe('the swarm runtime', () => {
  let server: SkiffServer;
  let key: string;
  const network = `skiff-test-${Math.random().toString(36).slice(2, 8)}`;
  const app = uniqueApp('swarm');
  let repo: string;
  let url: string;
  /** Apps besides the main one, removed afterwards. */
  const others: string[] = [];

  beforeAll(async () => {
    server = await SkiffServer.start({
      SKIFF_RUNTIME: 'swarm',
      SKIFF_SWARM_NETWORK: network,
      SKIFF_SWARM_GATEWAY_PORT: String(await freePort()),
      SKIFF_SWARM_GATEWAY_IMAGE: BASE_IMAGE,
      SKIFF_READY_TIMEOUT: '20',
    });
    key = await makeKey(tempDir('keys'), 'admin');
    await server.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
    repo = await fixtureRepo('dockerfile-env');
  });

  afterAll(async () => {
    await server?.cleanup();
    await execa('docker', ['service', 'rm', `skiff-${app}-web`], { reject: false });
    await execa('docker', ['rm', '-f', `skiff-gateway-${server?.env.SKIFF_SWARM_GATEWAY_PORT}`], { reject: false });
    for (const other of others) await execa('docker', ['service', 'rm', `skiff-${other}-web`], { reject: false });
    await removeDockerLeftovers([app, ...others]);
    for (const n of [`${network}-${app}`, ...others.map((o) => `${network}-${o}`), network]) {
      await waitFor(async () => (await execa('docker', ['network', 'rm', n], { reject: false })).exitCode === 0, 20_000, `network ${n} removed`).catch(
        () => undefined,
      );
    }
  });

  it('deploys a push as a service: dnsrr on the overlay network, start-first updates that roll back on failure', async () => {
    await server.ssh(key, ['apps:create', app]);
    await server.ssh(key, ['config:set', app, 'GREETING=hello', '--no-restart']);
    const push = await server.git(key, repo, ['push', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toContain(`Creating service skiff-${app}-web (1 replica)`);
    url = releasedUrl(push.stderr)!;
    expect((await httpGet(url)).body).toBe('env app\n');
    expect((await httpGet(`${url}greeting`)).body).toBe('hello');

    const service = await inspectService(`skiff-${app}-web`);
    expect(service.Spec.EndpointSpec.Mode).toBe('dnsrr');
    expect(service.Spec.UpdateConfig).toMatchObject({ Order: 'start-first', FailureAction: 'rollback' });
    // On an overlay of the app's own (no other app's tasks there), which the gateway is on too.
    const appNetwork = JSON.parse((await execa('docker', ['network', 'inspect', `${network}-${app}`])).stdout)[0];
    expect(service.Spec.TaskTemplate.Networks.map((n: { Target: string }) => n.Target)).toEqual([appNetwork.Id]);
    expect(appNetwork.Labels).toMatchObject({ 'skiff.app': app });
    const gateway = JSON.parse((await execa('docker', ['inspect', `skiff-gateway-${server.env.SKIFF_SWARM_GATEWAY_PORT}`])).stdout)[0];
    expect(Object.keys(gateway.NetworkSettings.Networks).sort()).toEqual([network, `${network}-${app}`].sort());
    expect(service.Spec.Labels).toMatchObject({ 'skiff.app': app, 'skiff.process': 'web', 'skiff.release': '1' });
    expect(service.Spec.TaskTemplate.ContainerSpec.Env).toContain('PORT=5000');
    expect(service.Spec.TaskTemplate.ContainerSpec.Healthcheck.Test[0]).toBe('CMD-SHELL');
    expect(JSON.parse((await server.ssh(key, ['apps:info', app, '--json'])).stdout).runtime).toBe('swarm');
  });

  it('scales, changes config and redeploys without failing a request', async () => {
    const result = await underLoad(
      () => httpGet(url, 5000),
      async () => {
        const scale = await server.ssh(key, ['ps:scale', app, 'web=3']);
        expect(scale.exitCode, scale.stderr).toBe(0);
        expect((await inspectService(`skiff-${app}-web`)).Spec.Mode.Replicated.Replicas).toBe(3);
        const ps = JSON.parse((await server.ssh(key, ['ps', app, '--json'])).stdout) as { instances: { name: string; state: string }[] };
        expect(ps.instances.filter((i) => i.state === 'running')).toHaveLength(3);

        const config = await server.ssh(key, ['config:set', app, 'GREETING=bonjour']);
        expect(config.exitCode, config.stderr).toBe(0);
        expect(config.stdout).toContain(`Updating service skiff-${app}-web (3 replicas, start-first)`);

        fs.writeFileSync(path.join(repo, 'index.html'), 'env app v2\n');
        await commitAll(repo, 'v2');
        const push = await server.git(key, repo, ['push', server.remote(app), 'main']);
        expect(push.exitCode, push.stderr).toBe(0);
      },
    );
    expect(result.failed).toEqual([]);
    expect(result.sent).toBeGreaterThan(20);
    expect((await httpGet(url)).body).toBe('env app v2\n');
    expect((await httpGet(`${url}greeting`)).body).toBe('bonjour');
    // Every task runs the new release.
    const tasks = (await execa('docker', ['service', 'ps', `skiff-${app}-web`, '--filter', 'desired-state=running', '--format', '{{.Image}}'])).stdout.split(
      '\n',
    );
    expect(tasks).toHaveLength(3);
  });

  it('spreads requests over every replica, through the router, to an app that keeps connections alive', async () => {
    const spread = uniqueApp('spread');
    others.push(spread);
    const push = await server.git(key, await fixtureRepo('node-keepalive'), ['push', server.remote(spread), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect((await server.ssh(key, ['ps:scale', spread, 'web=3'])).exitCode).toBe(0);
    const at = releasedUrl(push.stderr)!;
    // 60 requests from 15 clients at once, then 12 one after another: all three tasks answer in each.
    const hosts = async (clients: number, each: number): Promise<Set<string>> => {
      const seen = new Set<string>();
      await Promise.all(
        Array.from({ length: clients }, async () => {
          for (let i = 0; i < each; i++) seen.add((await httpGet(at)).body.trim());
        }),
      );
      return seen;
    };
    expect((await hosts(15, 4)).size).toBe(3);
    expect((await hosts(1, 12)).size).toBe(3);
  });

  it('rolls back: the previous image and config, as a service update', async () => {
    const rollback = await server.ssh(key, ['rollback', app]);
    expect(rollback.exitCode, rollback.stderr).toBe(0);
    expect((await httpGet(url)).body).toBe('env app\n');
    expect((await httpGet(`${url}greeting`)).body).toBe('bonjour');
    expect((await inspectService(`skiff-${app}-web`)).Spec.Labels['skiff.release']).toBe('4');
  });

  it('lets swarm roll a release back by itself when its health check fails, and the push is rejected', async () => {
    fs.writeFileSync(path.join(repo, 'skiff.yml'), 'healthcheck: /health\n');
    fs.writeFileSync(path.join(repo, 'index.html'), 'never healthy\n');
    await commitAll(repo, 'no /health');
    const push = await server.git(key, repo, ['push', server.remote(app), 'main']);
    expect(push.exitCode).not.toBe(0);
    expect(push.stderr).toMatch(/swarm is rolling skiff-\S+-web back/);
    expect(push.stderr).toMatch(/Push rejected: swarm rolled skiff-\S+-web back/);
    expect((await httpGet(url)).body).toBe('env app\n');
    const service = await inspectService(`skiff-${app}-web`);
    expect(service.Spec.Labels['skiff.release']).toBe('4');
    expect(service.UpdateStatus.State).toBe('rollback_completed');
    const releases = JSON.parse((await server.ssh(key, ['releases', app, '--json'])).stdout) as { version: number; status: string; current: boolean }[];
    expect(releases[0]).toMatchObject({ version: 5, status: 'failed', current: false });
  });

  it('lists the nodes and the tasks on each (admin)', async () => {
    const nodes = await server.cli(['nodes']);
    expect(nodes.exitCode, nodes.stderr).toBe(0);
    expect(nodes.stdout).toMatch(/manager\s+ready\s+active\s+\d+\.\d+\.\d+\.\d+/);
    expect(nodes.stdout).toMatch(new RegExp(`${app}\\s+web\\.1\\s+v4\\s+running`));
    expect((await server.cli(['doctor'])).stdout).toContain('ok    runtimes: swarm (default)');
    const json = JSON.parse((await server.cli(['nodes', '--json'])).stdout) as { tasks: { app: string }[] }[];
    expect(json[0].tasks.filter((t) => t.app === app)).toHaveLength(3);
  });

  it('moves an app to the docker runtime and back without downtime', async () => {
    const result = await underLoad(
      () => httpGet(url, 5000),
      async () => {
        const toDocker = await server.ssh(key, ['apps:set', app, 'runtime', 'docker']);
        expect(toDocker.exitCode, toDocker.stderr).toBe(0);
        expect(toDocker.stdout).toContain(`${app} runs on docker now (v4)`);
        expect((await execa('docker', ['service', 'ls', '-q', '--filter', `name=skiff-${app}-web`])).stdout).toBe('');
        // Plain containers now (swarm's tasks, stopping, carry a service label).
        const services = (
          await execa('docker', ['ps', '--filter', `label=skiff.app=${app}`, '--format', '{{.Label "com.docker.swarm.service.id"}}'])
        ).stdout.split('\n');
        expect(services.filter((s) => s === '')).toHaveLength(3);

        const back = await server.ssh(key, ['apps:set', app, 'runtime', 'default']);
        expect(back.exitCode, back.stderr).toBe(0);
        expect(back.stdout).toContain(`${app} runs on swarm now (v4)`);
      },
    );
    expect(result.failed).toEqual([]);
    expect((await httpGet(url)).body).toBe('env app\n');
    const bad = await server.ssh(key, ['apps:set', app, 'runtime', 'kubernetes']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain("unknown runtime 'kubernetes'; choose docker, systemd, swarm");
  });

  it('undoes the whole release when a later process type fails: web goes back too', async () => {
    const multi = uniqueApp('swmulti');
    const work = await fixtureRepo('procfile-web-worker');
    try {
      const first = await server.git(key, work, ['push', server.remote(multi), 'main']);
      expect(first.exitCode, first.stderr).toBe(0);
      const multiUrl = releasedUrl(first.stderr)!;
      expect((await server.ssh(key, ['ps:scale', multi, 'worker=1'])).exitCode).toBe(0);

      fs.writeFileSync(path.join(work, 'index.html'), 'never served\n');
      fs.writeFileSync(
        path.join(work, 'Procfile'),
        fs.readFileSync(path.join(work, 'Procfile'), 'utf8').replace(/^worker: .*$/m, 'worker: echo "worker gives up"; exit 3'),
      );
      await commitAll(work, 'a worker that dies');
      const push = await server.git(key, work, ['push', server.remote(multi), 'main']);
      expect(push.exitCode).not.toBe(0);
      expect(push.stderr).toMatch(/swarm rolled skiff-\S+-worker back/);
      expect(push.stderr).toContain(`Rolling skiff-${multi}-web back to its previous release`);
      await waitFor(async () => (await inspectService(`skiff-${multi}-web`)).Spec.Labels['skiff.release'] === '1', 60_000, 'web back on v1');
      await waitFor(async () => (await inspectService(`skiff-${multi}-web`)).UpdateStatus?.State === 'rollback_completed', 60_000, 'web rollback done');
      expect((await httpGet(multiUrl)).body).not.toBe('never served\n');
    } finally {
      await execa('docker', ['service', 'rm', `skiff-${multi}-web`, `skiff-${multi}-worker`], { reject: false });
      await removeDockerLeftovers([multi]);
    }
  });
});
