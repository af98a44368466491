import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SkiffServer, commitAll, fixtureRepo, httpGet, makeKey, removeDockerLeftovers, tempDir, uniqueApp, waitFor } from '../helpers/skiff.js';

interface Load {
  stop(): Promise<{ ok: number; failures: string[] }>;
}

/** A bounded stream of requests through the router: 4 at a time, at most 20,000 requests or 4 minutes. */
function keepRequesting(url: string): Load {
  let running = true;
  let ok = 0;
  const failures: string[] = [];
  const deadline = Date.now() + 240_000;
  const worker = async (): Promise<void> => {
    while (running && ok + failures.length < 20_000 && Date.now() < deadline) {
      try {
        const res = await httpGet(url, 10_000);
        if (res.status === 200) ok++;
        else failures.push(`${res.status} ${res.body.trim()}`);
      } catch (err) {
        failures.push(String(err));
      }
    }
  };
  const workers = [worker(), worker(), worker(), worker()];
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      return { ok, failures };
    },
  };
}

/** Processes, the router in front of them, and zero-downtime changes, over the real ssh, git and HTTP. */
describe('processes and the router', () => {
  let server: SkiffServer;
  let key: string;
  let repo: string;
  const app = uniqueApp('proc');
  let url: string;

  const ps = async () =>
    JSON.parse((await server.ssh(key, ['ps', app, '--json'])).stdout) as {
      formation: { process: string; quantity: number; memory: number | null }[];
      instances: { name: string; state: string; release: number }[];
    };
  const containers = async (process: string): Promise<string[]> =>
    (await execa('docker', ['ps', '-q', '--filter', `label=skiff.app=${app}`, '--filter', `label=skiff.process=${process}`])).stdout
      .split('\n')
      .filter(Boolean);

  beforeAll(async () => {
    server = await SkiffServer.start();
    key = await makeKey(tempDir('keys'), 'admin');
    await server.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
    repo = await fixtureRepo('procfile-web-worker');
    const push = await server.git(key, repo, ['push', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    url = `http://${app}.localhost:${server.routerPort}/`;
  });

  afterAll(async () => {
    await server?.cleanup();
    await removeDockerLeftovers([app]);
  });

  it('runs one web instance by default, routes to it by host name, and 404s unknown hosts', async () => {
    expect(await httpGet(url)).toEqual({ status: 200, body: 'release one\n' });
    const unknown = await httpGet(`http://nobody.localhost:${server.routerPort}/`);
    expect(unknown.status).toBe(404);
    const report = await ps();
    expect(report.formation.map((f) => [f.process, f.quantity])).toEqual([
      ['web', 1],
      ['worker', 0],
    ]);
    expect(report.instances.map((i) => i.name)).toEqual(['web.1']);
    const text = await server.ssh(key, ['ps', app]);
    expect(text.stdout).toMatch(/^web\.1 +running +v1 +up \d+s/m);
    expect(text.stdout).toContain('Scale: web=1 worker=0');
  });

  it('scales web and worker, balancing requests over the web instances', async () => {
    const scale = await server.ssh(key, ['ps:scale', app, 'web=3', 'worker=1']);
    expect(scale.exitCode, scale.stderr).toBe(0);
    expect((await ps()).instances.map((i) => i.name)).toEqual(['web.1', 'web.2', 'web.3', 'worker.1']);
    const ids = new Set<string>();
    for (let i = 0; i < 12; i++) ids.add((await httpGet(`${url}id`)).body.trim());
    expect(ids.size).toBe(3);
    await waitFor(
      async () => (await server.ssh(key, ['logs', app, '-p', 'worker', '-n', '1'])).stdout.includes('app[worker.1]: worker working'),
      10_000,
      'worker output',
    );
    const bad = await server.ssh(key, ['ps:scale', app, 'clock=1']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toBe(` !     ${app} has no process type clock; it has web, worker (from its Procfile)`);
  });

  it('brings a crashed instance back', async () => {
    const [id] = await containers('worker');
    const pid = Number((await execa('docker', ['inspect', '-f', '{{.State.Pid}}', id])).stdout);
    process.kill(pid, 'SIGKILL');
    await waitFor(
      async () => (await execa('docker', ['inspect', '-f', '{{.RestartCount}} {{.State.Running}}', id])).stdout === '1 true',
      15_000,
      'the restart',
    );
  });

  it('routes custom domains, and forgets them', async () => {
    const add = await server.ssh(key, ['domains:add', app, 'www.example.test']);
    expect(add.exitCode, add.stderr).toBe(0);
    expect((await httpGet(`http://www.example.test:${server.routerPort}/`)).body).toBe('release one\n');
    expect(JSON.parse((await server.ssh(key, ['domains', app, '--json'])).stdout)).toEqual([`${app}.localhost`, 'www.example.test']);
    expect((await server.ssh(key, ['domains:add', app, 'bad_host.test'])).stderr).toBe(
      " !     'bad_host.test' is not a host name; give one like www.example.com",
    );
    expect((await server.ssh(key, ['domains:remove', app, 'www.example.test'])).exitCode).toBe(0);
    expect((await httpGet(`http://www.example.test:${server.routerPort}/`)).status).toBe(404);
  });

  it('limits memory per process type and shows it', async () => {
    const set = await server.ssh(key, ['resources:set', app, 'web', '--memory', '64m', '--cpus', '0.5']);
    expect(set.exitCode, set.stderr).toBe(0);
    const ids = await containers('web');
    expect(ids).toHaveLength(3);
    for (const id of ids) {
      expect((await execa('docker', ['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}', id])).stdout).toBe(`${64 * 1024 ** 2} 500000000`);
    }
    expect((await server.ssh(key, ['ps', app])).stdout).toMatch(/^web\.1 .*64m, 0\.5 CPU$/m);
  });

  it('stops and starts the app', async () => {
    expect((await server.ssh(key, ['ps:stop', app])).exitCode).toBe(0);
    expect(await containers('web')).toEqual([]);
    expect(await httpGet(url)).toEqual({ status: 503, body: `${app} is not running.\n` });
    expect((await server.ssh(key, ['ps:start', app])).exitCode).toBe(0);
    expect(await httpGet(url)).toEqual({ status: 200, body: 'release one\n' });
    expect(await containers('web')).toHaveLength(3);
  });

  it('drops no request through redeploys, a config change, a restart and a rollback', async () => {
    const load = keepRequesting(url);
    for (const n of [2, 3]) {
      fs.writeFileSync(path.join(repo, 'index.html'), `release ${n}\n`);
      await commitAll(repo, `release ${n}`);
      const push = await server.git(key, repo, ['push', server.remote(app), 'main']);
      expect(push.exitCode, push.stderr).toBe(0);
    }
    expect((await server.ssh(key, ['config:set', app, 'A=1'])).exitCode).toBe(0);
    expect((await server.ssh(key, ['ps:restart', app, 'web'])).exitCode).toBe(0);
    expect((await server.ssh(key, ['rollback', app])).exitCode).toBe(0);
    const { ok, failures } = await load.stop();
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(100);
    expect((await httpGet(url)).body).toBe('release 3\n');
    // Scale and limits survived every release.
    expect((await ps()).instances.map((i) => i.name)).toEqual(['web.1', 'web.2', 'web.3', 'worker.1']);
  });

  it('keeps every app reachable while Skiff restarts, and rebuilds the routing when Caddy dies', async () => {
    const load = keepRequesting(url);
    await server.stop();
    // While Skiff is down, an instance disappears; the next start converges back to the recorded scale.
    const [gone] = await containers('worker');
    await execa('docker', ['rm', '-f', gone]);
    await new Promise((r) => setTimeout(r, 500));
    await server.launch();
    const { failures } = await load.stop();
    expect(failures).toEqual([]);
    expect((await ps()).instances.map((i) => i.name)).toEqual(['web.1', 'web.2', 'web.3', 'worker.1']);

    process.kill(server.caddyPid()!, 'SIGKILL');
    await waitFor(async () => (await httpGet(url)).status === 200, 20_000, 'the router to come back');
    expect((await httpGet(url)).body).toBe('release 3\n');
  });
});
