import { nextRun, periodMs, type CronJob } from '../domain/cron.js';
import { InvalidError } from '../errors.js';
import { currentJobs, getJob, runCronJob } from '../pipeline/cron.js';
import { getApp } from '../access/policy.js';
import type { CronRun, CronRunStatus } from '../domain/entities.js';
import type { Op, Services, Ask } from './operation.js';

/** A job of the current release, when it runs next and how it last ended. */
export interface CronJobInfo extends CronJob {
  next: string | null;
  last: { id: number; status: CronRunStatus; startedAt: string; exitCode: number | null } | null;
  lastSuccess: string | null;
}

/** cron APP: the jobs of the app's current release. */
export function listCron({ services, caller }: Ask, appName: string): CronJobInfo[] {
  const app = getApp(services, caller, appName);
  const now = new Date();
  return currentJobs(services, app.name).map((job) => {
    const [last] = services.store.cron.runs(app.name, { job: job.name, limit: 1 });
    return {
      ...job,
      next: nextRun(job.schedule, now, services.config.cron)?.toISOString() ?? null,
      last: last ? { id: last.id, status: last.status, startedAt: last.startedAt, exitCode: last.exitCode } : null,
      lastSuccess: services.store.cron.lastSuccess(app.name, job.name)?.finishedAt ?? null,
    };
  });
}

/** cron:runs APP [JOB] -n N: the latest runs, newest first. */
export function cronRuns({ services, caller }: Ask, appName: string, job: string | undefined, limit: number): CronRun[] {
  const app = getApp(services, caller, appName);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw new InvalidError('-n takes a whole number from 1 to 100 (the history keeps 100 runs of each job)');
  return services.store.cron.runs(app.name, { job, limit });
}

/** cron:run APP JOB: one run now, its output to the caller; the run as recorded. */
export function runCronNow(op: Op, appName: string, jobName: string, io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<CronRun> {
  const app = getApp(op.services, op.caller, appName);
  const job = getJob(op.services, app.name, jobName);
  return runCronJob(op.services, app.name, job, {
    trigger: 'manual',
    dueAt: null,
    user: op.caller.user,
    stdout: io.stdout,
    stderr: io.stderr,
    signal: op.signal,
  });
}

/**
 * Jobs that have not succeeded for more than two of their periods (since
 * the scheduler first saw them, when they never have) and are failing or
 * not running: their last ended run did not succeed, none has ended, or
 * none is going and none has started for two periods. A job slower than
 * its period (forbid skips its times while a run goes on; its timeout
 * bounds the run) is slow, not failing: not flagged.
 */
export function overdueJobs(services: Pick<Services, 'store' | 'config'>, now = new Date()): string[] {
  const found: string[] = [];
  for (const app of services.store.apps.list()) {
    for (const job of currentJobs(services, app.name)) {
      const period = periodMs(job.schedule, now, services.config.cron);
      const since = services.store.cron.lastSuccess(app.name, job.name)?.finishedAt ?? services.store.cron.state(app.name, job.name)?.since;
      if (period === null || since === undefined || since === null) continue;
      if (now.getTime() - new Date(since).getTime() > 2 * period) {
        const recent = services.store.cron.runs(app.name, { job: job.name, limit: 20 });
        const last = recent.find((r) => r.finishedAt !== null);
        // Going now (its timeout bounds it), or begun within two periods.
        const going = recent[0] ? recent[0].status === 'running' || now.getTime() - new Date(recent[0].startedAt).getTime() <= 2 * period : false;
        if (last?.status === 'succeeded' && going) continue;
        const lastly = last
          ? `; its last run (${last.id}) ${last.status === 'failed' ? `exited with ${last.exitCode}` : last.status}`
          : '; no run of it has ended';
        found.push(`${app.name}'s ${job.name} (${job.schedule}) has not succeeded since ${since}${lastly}: see cron:runs ${app.name} ${job.name}`);
      }
    }
  }
  return found;
}
