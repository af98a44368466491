import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepo } from '../helpers/skiff.js';
import { Tenants } from '../helpers/tenants.js';

/**
 * Attack: use scheduled jobs, which run pushed commands at times of the
 * pusher's choosing, to reach another tenant's jobs, to get out of the app's
 * share (the engine's socket, its limits), or to wear the host down: a job
 * every second, runs piling up, runs that never end, output that never ends.
 */
describe('scheduled jobs keep to the app’s share', () => {
  let t: Tenants;
  let mine: string;
  let theirs: string;

  const repoWith = (jobs: string): Promise<string> => fixtureRepo('dockerfile-hello', (d) => fs.writeFileSync(path.join(d, 'skiff.yml'), `cron:\n${jobs}`));
  const cronContainers = async (app: string): Promise<string[]> =>
    (await execa('docker', ['ps', '-aq', '--filter', `label=skiff.app=${app}`, '--filter', 'label=skiff.cron-run'])).stdout.split('\n').filter(Boolean);

  beforeAll(async () => {
    t = await Tenants.start({ SKIFF_PIDS_LIMIT: '200', SKIFF_DEFAULT_MEMORY: '256', SKIFF_CRON_MAX_RUNNING: '2' });
    theirs = t.app('payroll');
    mine = t.app('sneaky');
    const victim = await t.push('victim', await repoWith('  - {name: payout, schedule: "@yearly", command: echo paid}\n'), theirs);
    expect(victim.exitCode, victim.stderr).toBe(0);
    const probe = [
      '[ -e /var/run/docker.sock ] && echo SOCKET=yes || echo SOCKET=no',
      'echo PIDS=$(cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max)',
      'echo MEMORY=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes)',
    ].join('; ');
    const jobs = [
      `  - {name: probe, schedule: "@yearly", command: "${probe}"}`,
      '  - {name: forever, schedule: "@yearly", command: "trap \\"\\" TERM; while true; do sleep 1; done", timeout: 3s}',
      '  - {name: pile, schedule: "@yearly", command: "sleep 8", concurrency: allow}',
      '  - {name: flood, schedule: "@yearly", command: "head -c 3000000 /dev/zero | tr \'\\\\\\\\0\' x; echo; echo THE-END"}',
      '',
    ].join('\n');
    const pushed = await t.push('mallory', await repoWith(jobs), mine);
    expect(pushed.exitCode, pushed.stderr).toBe(0);
  });
  afterAll(async () => t?.cleanup());

  it('another tenant’s jobs cannot be listed, read or run', async () => {
    for (const args of [
      ['cron', theirs],
      ['cron:runs', theirs],
      ['cron:run', theirs, 'payout'],
    ]) {
      const r = await t.ssh('mallory', args);
      expect(r.exitCode, args.join(' ')).toBe(1);
      expect(r.stderr).toContain('access denied');
    }
    expect((await t.ssh('victim', ['cron:runs', theirs, '--json'])).stdout.trim()).toBe('[]');
  });

  it('a job every second is refused at push on a server that does not allow seconds', async () => {
    const push = await t.push('mallory', await repoWith('  - {name: hammer, schedule: "* * * * * *", command: "true"}\n'), mine, '+main');
    expect(push.exitCode).not.toBe(0);
    expect(push.stderr).toContain('skiff.yml: cron job hammer: schedule "* * * * * *" is not valid: six fields (seconds) are not allowed on this server');
    expect(JSON.parse((await t.ssh('mallory', ['cron', mine, '--json'])).stdout).map((j: { name: string }) => j.name)).toEqual([
      'probe',
      'forever',
      'pile',
      'flood',
    ]);
  });

  it('runs with no engine socket and the app’s limits', async () => {
    const r = await t.ssh('mallory', ['cron:run', mine, 'probe']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('SOCKET=no');
    expect(r.stdout).toContain('PIDS=200');
    expect(r.stdout).toContain(`MEMORY=${256 * 1024 * 1024}`);
    expect(await cronContainers(mine)).toEqual([]);
  });

  it('a run that ignores TERM is stopped at its timeout and leaves no container', async () => {
    const started = Date.now();
    const r = await t.ssh('mallory', ['cron:run', mine, 'forever']);
    expect(r.exitCode).toBe(124);
    expect(r.stderr).toMatch(/run \d+ of forever: timed-out/);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(await cronContainers(mine)).toEqual([]);
  });

  it('runs of one app stop piling up at SKIFF_CRON_MAX_RUNNING', async () => {
    const two = [t.ssh('mallory', ['cron:run', mine, 'pile']), t.ssh('mallory', ['cron:run', mine, 'pile'])];
    let seen = 0;
    for (let i = 0; i < 100 && seen < 2; i++) {
      seen = (await cronContainers(mine)).length;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(seen).toBe(2);
    const third = await t.ssh('mallory', ['cron:run', mine, 'pile']);
    expect(third.exitCode).toBe(1);
    expect(third.stderr).toContain(`${mine} already has 2 scheduled runs going (SKIFF_CRON_MAX_RUNNING)`);
    expect((await cronContainers(mine)).length).toBe(2);
    expect((await Promise.all(two)).map((r) => r.exitCode)).toEqual([0, 0]);
  });

  it('keeps the last 64 KiB of a run’s output, however much it prints', async () => {
    const r = await t.ssh('mallory', ['cron:run', mine, 'flood']);
    expect(r.exitCode, r.stderr).toBe(0);
    const [run] = JSON.parse((await t.ssh('mallory', ['cron:runs', mine, 'flood', '--json'])).stdout) as { output: string }[];
    expect(run.output.startsWith('[skiff: earlier output left out]\n')).toBe(true);
    expect(run.output.endsWith('\nTHE-END\n')).toBe(true);
    expect(Buffer.byteLength(run.output)).toBeLessThanOrEqual(64 * 1024 + 64);
  });
});
