import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SkiffServer, commitAll, fixtureRepo, makeKey, removeDockerLeftovers, tempDir, uniqueApp, waitFor } from '../helpers/skiff.js';

interface Run {
  id: number;
  job: string;
  trigger: string;
  status: string;
  exitCode: number | null;
  startedAt: string;
  finishedAt: string | null;
  dueAt: string | null;
  output: string;
}

/**
 * Scheduled jobs over the real ssh, git and engine. Schedules have a seconds
 * field here (SKIFF_CRON_SECONDS=1), so "every second" jobs run for real.
 */
describe('scheduled jobs', () => {
  let server: SkiffServer;
  let key: string;
  const app = uniqueApp('cron');
  let repo: string;
  let hook: http.Server;
  const notices: Record<string, unknown>[] = [];

  const push = async (skiffYml: string): Promise<void> => {
    fs.writeFileSync(path.join(repo, 'skiff.yml'), skiffYml);
    await commitAll(repo, 'jobs');
    const pushed = await server.git(key, repo, ['push', server.remote(app), 'main']);
    expect(pushed.exitCode, pushed.stderr).toBe(0);
  };
  const runs = async (job?: string): Promise<Run[]> => {
    const r = await server.ssh(key, ['cron:runs', app, ...(job ? [job] : []), '-n', '100', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Run[];
  };
  /** The running containers of scheduled runs, by run id. */
  const cronContainers = async (): Promise<string[]> =>
    (await execa('docker', ['ps', '--format', '{{.Label "skiff.cron-run"}}', '--filter', `label=skiff.app=${app}`, '--filter', 'label=skiff.cron-run'])).stdout
      .split('\n')
      .filter(Boolean);

  beforeAll(async () => {
    hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        notices.push(JSON.parse(body) as Record<string, unknown>);
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    server = await SkiffServer.start({ SKIFF_CRON_SECONDS: '1', SKIFF_CRON_MAX_RUNNING: '10', SKIFF_HOOKS_ALLOW: '127.0.0.0/8', SKIFF_STOP_TIMEOUT: '1' });
    key = await makeKey(tempDir('keys'), 'admin');
    await server.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
    expect((await server.ssh(key, ['apps:create', app])).exitCode).toBe(0);
    expect((await server.ssh(key, ['storage:mount', app, 'data:/data'])).exitCode).toBe(0);
    expect((await server.ssh(key, ['config:set', app, 'GREETING=hello'])).exitCode).toBe(0);
    expect((await server.ssh(key, ['hooks:add', app, `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`])).exitCode).toBe(0);
    repo = await fixtureRepo('dockerfile-env');
  });

  afterAll(async () => {
    await server?.cleanup();
    hook?.close();
    await removeDockerLeftovers([app]);
  });

  it('run at their times in a container of the current release, with its config and volumes; every run is recorded', async () => {
    await push(
      [
        'cron:',
        '  - name: tick',
        '    schedule: "* * * * * *"',
        '    command: echo "tick $GREETING" >> /data/ticks; echo ticked',
        '  - name: failing',
        '    schedule: "*/2 * * * * *"',
        '    command: echo about to fail; exit 7',
        '  - name: by-hand',
        '    schedule: "@yearly"',
        '    command: echo "by hand $GREETING"; exit 7',
        '',
      ].join('\n'),
    );
    await waitFor(async () => (await runs('tick')).filter((r) => r.status === 'succeeded').length >= 3, 30_000, 'three ticks');
    await waitFor(async () => (await runs('failing')).some((r) => r.status === 'failed'), 30_000, 'a failed run');

    const list = await server.ssh(key, ['cron', app]);
    expect(list.stdout).toMatch(/tick\s+\* \* \* \* \* \*\s+forbid\s+20\d\d-/);
    // Its last run has failed, or is running again (every 2 s).
    expect(list.stdout).toMatch(/failing\s+\*\/2 \* \* \* \* \*\s+forbid\s+20\d\d-.*(failed \(7\)|running) at /);

    const ticks = (await runs('tick')).filter((r) => r.status === 'succeeded');
    expect(ticks[0]).toMatchObject({ trigger: 'schedule', exitCode: 0, output: 'ticked\n' });
    expect(ticks[0].dueAt).toMatch(/\.000Z$/);
    const data = await server.ssh(key, ['run', app, 'cat', '/data/ticks']);
    expect(data.stdout.split('\n').filter((l) => l === 'tick hello').length).toBeGreaterThanOrEqual(3);

    // A failed run: in the history with its output, in the events, at the webhook.
    const failed = (await runs('failing')).find((r) => r.status === 'failed') as Run;
    expect(failed).toMatchObject({ exitCode: 7, output: 'about to fail\n' });
    const events = JSON.parse((await server.ssh(key, ['events', app, '--json'])).stdout) as {
      action: string;
      outcome: string;
      detail: Record<string, unknown>;
    }[];
    expect(events.find((e) => e.action === 'cron:run')).toMatchObject({
      outcome: 'failed: failing exited with status 7',
      detail: { job: 'failing', trigger: 'schedule' },
    });
    await waitFor(() => notices.some((n) => n.event === 'cron.failed'), 10_000, 'the webhook');
    expect(notices.find((n) => n.event === 'cron.failed')).toMatchObject({ app, job: 'failing', status: 'failed', exitCode: 7 });

    // doctor: failing has not succeeded for more than two of its periods (4 s after the scheduler first saw it,
    // which a quick run of this test may not have reached yet).
    const overdue = new RegExp(`FAIL  scheduled jobs: ${app}'s failing \\(\\*/2 \\* \\* \\* \\* \\*\\) has not succeeded since .*exited with 7`);
    let doctor = '';
    await waitFor(
      async () => overdue.test((doctor = (await server.ssh(key, ['doctor'])).stdout)),
      15_000,
      () => `doctor to flag the failing job:\n${doctor}`,
    );
    expect(doctor).not.toContain(`${app}'s tick`);
  });

  it('cron:run runs a job now, streams its output and gives its exit status', async () => {
    const now = await server.ssh(key, ['cron:run', app, 'by-hand']);
    expect(now.exitCode).toBe(7);
    expect(now.stdout).toBe('by hand hello');
    expect(now.stderr).toMatch(/run \d+ of by-hand: failed \(7\)/);
    expect((await runs('by-hand'))[0]).toMatchObject({ trigger: 'manual', status: 'failed', exitCode: 7, dueAt: null, output: 'by hand hello\n' });
    const unknown = await server.ssh(key, ['cron:run', app, 'nope']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(new RegExp(`^ ! +${app} has no scheduled job nope \\(it has tick, failing, by-hand\\)$`));
  });

  it('forbid never overlaps two runs; replace stops the running one for the new one', async () => {
    await push(
      [
        'cron:',
        '  - {name: slow, schedule: "* * * * * *", command: sleep 3}',
        '  - {name: latest, schedule: "*/2 * * * * *", command: sleep 30, concurrency: replace}',
        '',
      ].join('\n'),
    );
    // The jobs of the earlier release stop with it.
    await sleep(1500);
    const before = (await runs('tick')).length;
    await waitFor(async () => (await runs('slow')).filter((r) => r.status === 'succeeded').length >= 2, 30_000, 'two slow runs');
    await waitFor(async () => (await runs('latest')).filter((r) => r.status === 'replaced').length >= 2, 30_000, 'two replaced runs');
    expect((await runs('tick')).length).toBe(before);

    // While slow runs, a run by hand is refused in one line.
    await waitFor(async () => (await runs('slow'))[0].status === 'running', 10_000, 'slow running');
    const refused = await server.ssh(key, ['cron:run', app, 'slow']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/^ ! +slow is still running \(run \d+, since .*\) and its concurrency is forbid$/);

    const slow = (await runs('slow')).filter((r) => r.finishedAt !== null).reverse();
    for (let i = 1; i < slow.length; i++) expect(Date.parse(slow[i].startedAt)).toBeGreaterThanOrEqual(Date.parse(slow[i - 1].finishedAt as string));
    const latest = await runs('latest');
    expect(latest.filter((r) => r.status === 'running').length).toBeLessThanOrEqual(1);
    // One container each at most: slow's and latest's.
    expect((await cronContainers()).length).toBeLessThanOrEqual(2);
  });

  it('runs a time missed while the server was down once when it starts again; a run it interrupted is recorded so', async () => {
    await push(['cron:', '  - {name: every5, schedule: "*/5 * * * * *", command: sleep 30}', ''].join('\n'));
    await waitFor(async () => (await runs('every5')).some((r) => r.status === 'running'), 15_000, 'every5 running');
    const interrupted = (await runs('every5')).find((r) => r.status === 'running') as Run;
    await server.stop();
    // Two times of every5 pass with no server.
    await sleep(11_000);
    const downFrom = Date.now() - 11_000;
    await server.launch();
    await waitFor(async () => (await runs('every5')).some((r) => r.trigger === 'catch-up'), 15_000, 'the catch-up run');
    const after = await runs('every5');
    expect(after.filter((r) => r.trigger === 'catch-up')).toHaveLength(1);
    expect(after.find((r) => r.id === interrupted.id)?.status).toBe('interrupted');
    expect(after.filter((r) => Date.parse(r.startedAt) > downFrom + 500 && Date.parse(r.startedAt) < downFrom + 10_500)).toEqual([]);
    // Its container went with it; the catch-up run has the only one.
    let seen: string[] = [];
    await waitFor(
      async () => (seen = await cronContainers()).length === 1,
      10_000,
      () => `the catch-up run’s container alone (runs of the containers: ${seen.join(', ')})`,
    );
    await sleep(1000);
    expect(await cronContainers()).toHaveLength(1);
  });

  it('are stopped by a destroy before it removes the volume: nothing of the app is left, however often its jobs are due', async () => {
    const doomed = uniqueApp('crondoom');
    try {
      expect((await server.ssh(key, ['apps:create', doomed])).exitCode).toBe(0);
      expect((await server.ssh(key, ['storage:mount', doomed, 'data:/data'])).exitCode).toBe(0);
      const repo2 = await fixtureRepo('dockerfile-env', (d) =>
        // Due every second, one run at a time (forbid): a run is always going or about to start, without a container a second for the engine.
        fs.writeFileSync(
          path.join(d, 'skiff.yml'),
          ['cron:', '  - name: busy', '    schedule: "* * * * * *"', '    concurrency: forbid', '    command: echo busy >> /data/busy; sleep 20'].join('\n'),
        ),
      );
      const pushed = await server.git(key, repo2, ['push', server.remote(doomed), 'main']);
      expect(pushed.exitCode, pushed.stderr).toBe(0);
      const running = async (): Promise<string[]> =>
        (await execa('docker', ['ps', '-q', '--filter', `label=skiff.app=${doomed}`, '--filter', 'label=skiff.cron-run'])).stdout.split('\n').filter(Boolean);
      let seen = '';
      await waitFor(
        async () => {
          seen = (await server.ssh(key, ['cron:runs', doomed, '--json'])).stdout;
          return (await running()).length >= 1;
        },
        15_000,
        () => `a run of the job (runs: ${seen})`,
      );
      const destroyed = await server.ssh(key, ['apps:destroy', doomed, '--confirm', doomed]);
      expect(destroyed.exitCode, destroyed.stderr).toBe(0);
      await sleep(2500);
      expect(await running()).toEqual([]);
      expect((await execa('docker', ['ps', '-aq', '--filter', `label=skiff.app=${doomed}`])).stdout).toBe('');
      expect((await execa('docker', ['volume', 'ls', '-q', '--filter', `label=skiff.app=${doomed}`])).stdout).toBe('');
    } finally {
      await removeDockerLeftovers([doomed]);
    }
  });
});
