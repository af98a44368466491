// The pipeline's paths in milliseconds: scheduled jobs: their records, concurrency, timeouts and the scheduler. The fakes of
// test/helpers/fakes.ts stand for every seam, the store is real (test/helpers/pipeline-harness.ts).
import { describe, expect, it, vi } from 'vitest';
import { setConfig } from '../../src/operations/config.js';
import { cronRuns, overdueJobs } from '../../src/operations/cron.js';
import { currentJobs, runCronJob } from '../../src/pipeline/cron.js';
import { CronScheduler } from '../../src/server/scheduler.js';
import type { CronJob } from '../../src/domain/cron.js';
import { clearEvents, events } from '../helpers/fakes.js';
import { APP, services, host, caller, op, push } from '../helpers/pipeline-harness.js';

describe('scheduled jobs', () => {
  const CRON = (concurrency = 'forbid', extra = ''): Record<string, string> => ({
    'skiff.yml': `cron:\n  - name: nightly\n    schedule: "0 3 * * *"\n    command: ./backup\n    concurrency: ${concurrency}\n${extra}`,
  });
  const manual = (): Parameters<typeof runCronJob>[3] => ({ trigger: 'manual', dueAt: null, user: 'alice', signal: new AbortController().signal });
  const job = (): CronJob => currentJobs(services, APP)[0];

  it('are versioned with the release, and a bad schedule rejects the push naming the job and the reason', async () => {
    await push('one', undefined, CRON());
    expect(services.store.releases.find(APP, 1)?.cron).toEqual([
      { name: 'nightly', schedule: '0 3 * * *', command: './backup', concurrency: 'forbid', timeoutSeconds: null },
    ]);
    await expect(push('two', undefined, { 'skiff.yml': 'cron:\n  - {name: nightly, schedule: "61 * * * *", command: x}\n' })).rejects.toThrow(
      'skiff.yml: cron job nightly: schedule "61 * * * *" is not valid: Invalid value for minute: 61',
    );
    // Seconds are for servers that allow them (SKIFF_CRON_SECONDS).
    await expect(push('three', undefined, { 'skiff.yml': 'cron:\n  - {name: fast, schedule: "* * * * * *", command: x}\n' })).rejects.toThrow(
      /six fields \(seconds\) are not allowed/,
    );
    expect(services.store.apps.find(APP)?.currentRelease).toBe(1);
    // A config change keeps them: the same jobs, a new release.
    await setConfig(op(), APP, { A: '1' }, { restart: true });
    expect(currentJobs(services, APP).map((j) => j.name)).toEqual(['nightly']);
  });

  it('record each run: the current release, its config and volumes, the end of its output; a failure reaches the events', async () => {
    await push('one', undefined, CRON());
    await setConfig(op(), APP, { GREETING: 'hi' }, { restart: true });
    const ok = await runCronJob(services, APP, job(), manual());
    expect(ok).toMatchObject({ status: 'succeeded', exitCode: 0, release: 2, trigger: 'manual', output: 'ran with GREETING=hi\n' });
    expect(host.runs.at(-1)).toMatchObject({ image: `skiff/${APP}:v2`, command: ['sh', '-c', 'exec ./backup'], cronRun: ok.id });
    host.runStatus = 4;
    const failed = await runCronJob(services, APP, job(), manual());
    expect(failed).toMatchObject({ status: 'failed', exitCode: 4 });
    expect(services.store.events.list({ app: APP, limit: 1 })[0]).toMatchObject({
      action: 'cron:run',
      source: 'cron',
      outcome: 'failed: nightly exited with status 4',
    });
    expect(cronRuns({ services, caller }, APP, 'nightly', 5).map((r) => r.status)).toEqual(['failed', 'succeeded']);
  });

  it('forbid refuses a second run while one runs; replace stops the running one; a timeout stops a run', async () => {
    await push('one', undefined, CRON());
    let open = (): void => {};
    host.gate = new Promise((resolve) => (open = resolve));
    const first = runCronJob(services, APP, job(), manual());
    await new Promise((resolve) => setTimeout(resolve, 10));
    await expect(runCronJob(services, APP, job(), manual())).rejects.toThrow(/nightly is still running \(run \d+, since .*\) and its concurrency is forbid/);
    open();
    expect((await first).status).toBe('succeeded');

    await push('two', undefined, CRON('replace'));
    host.gate = new Promise((resolve) => (open = resolve));
    const replaced = runCronJob(services, APP, job(), manual());
    await new Promise((resolve) => setTimeout(resolve, 10));
    clearEvents();
    const newer = runCronJob(services, APP, job(), manual());
    expect((await replaced).status).toBe('replaced');
    expect(events).toContain(`stop cron run ${(await replaced).id}`);
    open();
    expect((await newer).status).toBe('succeeded');

    // A run replaced while it was still stopping the one it replaced never starts its container.
    host.gate = new Promise((resolve) => (open = resolve));
    host.stopCronMs = 300;
    const oldest = runCronJob(services, APP, job(), manual());
    await new Promise((resolve) => setTimeout(resolve, 10));
    const middle = runCronJob(services, APP, job(), manual());
    await new Promise((resolve) => setTimeout(resolve, 50));
    const last = runCronJob(services, APP, job(), manual());
    const stuck = new Promise((resolve) => setTimeout(() => resolve('still running'), 2000));
    expect(await Promise.race([middle.then((r) => r.status), stuck])).toBe('replaced');
    expect((await oldest).status).toBe('replaced');
    open();
    expect((await last).status).toBe('succeeded');
    host.stopCronMs = 0;

    await push('three', undefined, CRON('allow', '    timeout: 1s\n'));
    host.gate = new Promise(() => {});
    // The job's second passes on vitest's clock.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const running = runCronJob(services, APP, job(), manual());
    await vi.advanceTimersByTimeAsync(1000);
    const late = await running;
    vi.useRealTimers();
    expect(late).toMatchObject({ status: 'timed-out', exitCode: null });
    expect(late.output).toMatch(/stopped after 1 s, the job's timeout/);
  });

  it('allow stops at SKIFF_CRON_MAX_RUNNING runs of the app at once', async () => {
    services.config.cron.maxRunning = 2;
    await push('one', undefined, CRON('allow'));
    let open = (): void => {};
    host.gate = new Promise((resolve) => (open = resolve));
    const two = [runCronJob(services, APP, job(), manual()), runCronJob(services, APP, job(), manual())];
    await new Promise((resolve) => setTimeout(resolve, 10));
    await expect(runCronJob(services, APP, job(), manual())).rejects.toThrow(`${APP} already has 2 scheduled runs going (SKIFF_CRON_MAX_RUNNING)`);
    open();
    expect((await Promise.all(two)).map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
  });

  it('run at their times, and a time missed while the server was down runs once at start', async () => {
    services.config.cron.seconds = true;
    await push('one', undefined, {
      'skiff.yml': 'cron:\n  - {name: tick, schedule: "* * * * * *", command: ./tick}\n  - {name: hourly, schedule: "0 * * * *", command: ./hourly}\n',
    });
    // The server was last up over an hour ago: hourly missed a time, and runs once now.
    services.store.cron.setState(APP, 'hourly', new Date(Date.now() - 2 * 3600_000).toISOString());
    // The scheduler's timers (croner's) and its poll run on vitest's clock: the seconds pass without being waited.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const scheduler = new CronScheduler(services, { pollMs: 50 });
    await scheduler.start();
    try {
      await vi.advanceTimersByTimeAsync(2300);
      const runs = services.store.cron.runs(APP, { limit: 100 });
      expect(runs.filter((r) => r.job === 'hourly').map((r) => r.trigger)).toEqual(['catch-up']);
      const ticks = runs.filter((r) => r.job === 'tick');
      expect(ticks.length).toBeGreaterThanOrEqual(2);
      expect(ticks.every((r) => r.trigger === 'schedule' && r.dueAt?.endsWith('.000Z'))).toBe(true);
      // A push that drops a job stops its timer, seen by the poll.
      await push('two', undefined, { 'skiff.yml': 'cron:\n  - {name: hourly, schedule: "0 * * * *", command: ./hourly}\n' });
      await vi.advanceTimersByTimeAsync(200);
      const before = services.store.cron.runs(APP, { job: 'tick', limit: 100 }).length;
      await vi.advanceTimersByTimeAsync(1500);
      expect(services.store.cron.runs(APP, { job: 'tick', limit: 100 }).length).toBe(before);
    } finally {
      scheduler.stop();
      vi.useRealTimers();
    }
    // doctor: hourly has not succeeded for more than two hours since it was first seen.
    expect(overdueJobs(services, new Date(Date.now() + 3 * 3600_000))).toEqual([
      expect.stringMatching(/^shop's hourly \(0 \* \* \* \*\) has not succeeded since .*: see cron:runs shop hourly$/),
    ]);
    expect(overdueJobs(services)).toEqual([]);
    // A run going now, longer than two periods, after one that succeeded: slow (its timeout bounds it), not failing.
    const later = Date.now() + 3 * 3600_000;
    vi.useFakeTimers({ now: later - 2.5 * 3600_000, toFake: ['Date'] });
    const going = services.store.cron.start({ app: APP, job: 'hourly', release: 2, trigger: 'schedule', dueAt: null, pid: process.pid });
    vi.useRealTimers();
    expect(services.store.cron.runs(APP, { job: 'hourly', limit: 2 }).map((r) => r.status)).toEqual(['running', 'succeeded']);
    expect(overdueJobs(services, new Date(later))).toEqual([]);
    services.store.cron.finish(going.id, 'failed', 3, '');
    expect(overdueJobs(services, new Date(later))).toEqual([
      expect.stringMatching(/^shop's hourly .*; its last run \(\d+\) exited with 3: see cron:runs shop hourly$/),
    ]);
  });
});
