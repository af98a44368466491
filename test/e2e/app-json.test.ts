import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SkiffServer, commitAll, fixtureRepo, makeKey, removeDockerLeftovers, tempDir, uniqueApp } from '../helpers/skiff.js';

const WEB = 'web: mkdir -p /www && echo ok > /www/health && exec busybox httpd -f -p "$PORT" -h /www';

/** An app written for Dokku, with its app.json, deployed unchanged over the real ssh, git and engine. */
describe('an app.json', () => {
  let server: SkiffServer;
  let key: string;
  const app = uniqueApp('appjson');
  let repo: string;

  const appJson = (health: string): string =>
    JSON.stringify(
      {
        name: 'a dokku app',
        env: { SECRET_KEY: { generator: 'secret' } },
        scripts: {
          dokku: {
            predeploy: 'echo "predeploy ran" >> /data/log; echo predeploy-output; mkdir -p /www && echo "$GREETING" > /www/predeploy.test',
            postdeploy: 'echo "postdeploy ran for $GREETING"',
          },
          postdeploy: 'echo seeded >> /data/seed',
        },
        formation: { web: { quantity: 2 } },
        healthchecks: { web: [{ type: 'startup', name: 'ready', path: health, attempts: 3 }] },
        cron: [{ command: 'echo "cron ran"', schedule: '@daily' }],
      },
      null,
      2,
    );
  const push = async (health: string): Promise<Awaited<ReturnType<SkiffServer['git']>>> => {
    fs.writeFileSync(path.join(repo, 'app.json'), appJson(health));
    fs.writeFileSync(path.join(repo, 'pushed-at'), `${Date.now()}\n`);
    await commitAll(repo, `health ${health}`);
    return server.git(key, repo, ['push', server.remote(app), 'main']);
  };

  beforeAll(async () => {
    server = await SkiffServer.start({ SKIFF_READY_TIMEOUT: '5', SKIFF_DRAIN_SECONDS: '0' });
    key = await makeKey(tempDir('keys'), 'admin');
    await server.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
    expect((await server.ssh(key, ['apps:create', app])).exitCode).toBe(0);
    expect((await server.ssh(key, ['storage:mount', app, 'data:/data'])).exitCode).toBe(0);
    expect((await server.ssh(key, ['config:set', app, 'GREETING=hi'])).exitCode).toBe(0);
    repo = await fixtureRepo('dockerfile-env', (d) => fs.writeFileSync(path.join(d, 'Procfile'), `${WEB}\n`));
  });

  afterAll(async () => {
    await server?.cleanup();
    await removeDockerLeftovers([app]);
  });

  it('is honoured: its health check path gates the deploy', async () => {
    const failed = await push('/missing');
    expect(failed.exitCode).not.toBe(0);
    expect(failed.stderr).toContain(
      'app.json: using scripts.dokku.predeploy, scripts.dokku.postdeploy, scripts.postdeploy, cron, formation, healthchecks; ignoring name, env',
    );
    expect(failed.stderr).toContain('the new release answered /missing with 404, not 2xx');
    // Nothing of it stays: no scale recorded, no release, and the first-deploy script has not run.
    const ps = JSON.parse((await server.ssh(key, ['ps', app, '--json'])).stdout) as { formation: { process: string; quantity: number }[] };
    expect(ps.formation.find((f) => f.process === 'web')?.quantity ?? 1).toBe(1);
    expect((await server.ssh(key, ['run', app, 'cat', '/data/seed'])).exitCode).not.toBe(0);
  });

  it('runs predeploy before any instance, postdeploy after the switch, the first-deploy script once; starts at its formation; schedules its cron', async () => {
    const first = await push('/health');
    expect(first.exitCode, first.stderr).toBe(0);
    const out = first.stderr;
    expect(out.indexOf('predeploy-output')).toBeGreaterThan(-1);
    expect(out.indexOf('predeploy-output')).toBeLessThan(out.indexOf('web.1 answers HTTP'));
    expect(out.indexOf('postdeploy ran for hi')).toBeGreaterThan(out.indexOf('Released v'));
    expect(out).toContain("Running app.json's postdeploy (the app's first deploy): echo seeded >> /data/seed");
    const ps = JSON.parse((await server.ssh(key, ['ps', app, '--json'])).stdout) as { formation: { process: string; quantity: number }[] };
    expect(ps.formation.find((f) => f.process === 'web')?.quantity).toBe(2);

    const again = await push('/health');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toContain('postdeploy ran for hi');
    expect(again.stderr).not.toContain("app's first deploy");
    expect((await server.ssh(key, ['run', app, 'cat', '/data/seed'])).stdout).toBe('seeded');
    expect((await server.ssh(key, ['run', app, 'cat', '/data/log'])).stdout).toBe('predeploy ran\npredeploy ran\npredeploy ran');

    // Predeploy's changes are in the release's image, as Dokku keeps them; the release's config is not, and the image's CMD is its own.
    const serving = async (): Promise<{ Config: { Env: string[]; Cmd: string[]; Labels: Record<string, string> }; RootFS: { Layers: string[] } }> => {
      const releases = JSON.parse((await server.ssh(key, ['releases', app, '--json'])).stdout) as { image: string; current: boolean }[];
      const image = releases.find((r) => r.current)?.image ?? '';
      return (JSON.parse((await execa('docker', ['image', 'inspect', image])).stdout) as [never])[0];
    };
    expect((await server.ssh(key, ['run', app, 'cat', '/www/predeploy.test'])).stdout).toBe('hi');
    const kept = await serving();
    expect(kept.Config.Env.some((e) => e.startsWith('GREETING=') || e.startsWith('SECRET_KEY='))).toBe(false);
    expect(kept.Config.Cmd.join(' ')).toContain('busybox httpd');
    expect(kept.Config.Labels['skiff.app']).toBe(app);
    // A config change runs predeploy again on the image as built: one kept layer, not one more per release.
    expect((await server.ssh(key, ['config:set', app, 'GREETING=hello'])).exitCode).toBe(0);
    const changed = await serving();
    expect(changed.RootFS.Layers.length).toBe(kept.RootFS.Layers.length);
    expect((await server.ssh(key, ['run', app, 'cat', '/www/predeploy.test'])).stdout).toBe('hello');

    const cron = JSON.parse((await server.ssh(key, ['cron', app, '--json'])).stdout) as { name: string; schedule: string; concurrency: string }[];
    expect(cron).toEqual([expect.objectContaining({ name: expect.stringMatching(/^cron-[0-9a-f]{8}$/), schedule: '@daily', concurrency: 'allow' })]);
    const ran = await server.ssh(key, ['cron:run', app, cron[0].name]);
    expect(ran.exitCode, ran.stderr).toBe(0);
    expect(ran.stdout).toBe('cron ran');
  });

  it("deploys a worker-only app, as Dokku's nodejs-worker: web: 0 in its formation, no web in its Procfile, no route and no HTTP check", async () => {
    const worker = uniqueApp('worker');
    try {
      const repo2 = await fixtureRepo('dockerfile-env', (d) => {
        fs.writeFileSync(path.join(d, 'Procfile'), 'worker: while true; do echo "worker working"; sleep 1; done\n');
        fs.writeFileSync(path.join(d, 'app.json'), JSON.stringify({ formation: { web: { quantity: 0 }, worker: { quantity: 1 } } }));
      });
      const pushed = await server.git(key, repo2, ['push', server.remote(worker), 'main']);
      expect(pushed.exitCode, pushed.stderr).toBe(0);
      expect(pushed.stderr).not.toContain('answers HTTP');
      const ps = JSON.parse((await server.ssh(key, ['ps', worker, '--json'])).stdout) as { instances: { name: string; state: string }[] };
      expect(ps.instances.map((i) => [i.name, i.state])).toEqual([['worker.1', 'running']]);
      const logs = await server.ssh(key, ['logs', worker, '-n', '5']);
      expect(logs.stdout).toContain('worker working');
      // Some of a type the Procfile does not run is still refused.
      fs.writeFileSync(path.join(repo2, 'app.json'), JSON.stringify({ formation: { web: { quantity: 1 }, worker: { quantity: 1 } } }));
      await commitAll(repo2, 'web 1');
      const refused = await server.git(key, repo2, ['push', server.remote(worker), 'main']);
      expect(refused.exitCode).not.toBe(0);
      expect(refused.stderr).toContain('app.json: formation names web, which the Procfile does not run (it has worker)');
    } finally {
      await removeDockerLeftovers([worker]);
    }
  });
});
