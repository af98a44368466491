import type { Cron } from 'croner';
import { scheduleTimer, type CronJob } from '../domain/cron.js';
import { ConflictError } from '../errors.js';
import type { CronTrigger } from '../domain/entities.js';
import { runCronJob, type CronDeps } from '../pipeline/cron.js';
import { isProcessAlive } from '../processes.js';

interface Scheduled {
  job: CronJob;
  timer: Cron;
}

/**
 * Runs each app's scheduled jobs at their times, in the server. It follows
 * the current release of every app (a push or rollback made by another
 * process is seen within pollMs), keeps where each job is in the database,
 * and at start runs once each job that missed a time while the server was
 * down. Times are UTC.
 */
export class CronScheduler {
  private readonly apps = new Map<string, { release: number | null; jobs: Map<string, Scheduled> }>();
  private poller: NodeJS.Timeout | undefined;
  private readonly stopping = new AbortController();

  constructor(
    private readonly deps: CronDeps,
    private readonly options: { pollMs: number } = { pollMs: 1000 },
  ) {}

  async start(): Promise<void> {
    const { store, runtime, log } = this.deps;
    for (const run of store.cron.failAbandoned(isProcessAlive)) {
      log.warn({ app: run.app, job: run.job, run: run.id }, 'scheduled run interrupted: its process ended first');
      await runtime.stopCronRuns(run.app, run.id).catch(() => undefined);
    }
    for (const app of store.apps.list()) this.sync(app.name, app.currentRelease, true);
    this.poller = setInterval(() => this.poll(), this.options.pollMs);
    this.poller.unref();
  }

  stop(): void {
    clearInterval(this.poller);
    this.stopping.abort();
    for (const app of [...this.apps.keys()]) this.sync(app, null, false);
    this.apps.clear();
  }

  private poll(): void {
    try {
      const apps = new Map(this.deps.store.apps.list().map((a) => [a.name, a.currentRelease]));
      for (const name of [...this.apps.keys()]) {
        if (apps.has(name)) continue;
        this.sync(name, null, false);
        this.apps.delete(name);
      }
      for (const [name, release] of apps) if (this.apps.get(name)?.release !== release) this.sync(name, release, false);
    } catch (err) {
      this.deps.log.error({ err }, 'scheduler could not read the apps');
    }
  }

  /** Brings an app's timers in line with its release's jobs; at start, a job that missed a time runs once now. */
  private sync(app: string, release: number | null, starting: boolean): void {
    const { store, config } = this.deps;
    const had = this.apps.get(app)?.jobs ?? new Map<string, Scheduled>();
    const jobs = release === null ? [] : (store.releases.find(app, release)?.cron ?? []);
    const next = new Map<string, Scheduled>();
    const missed: string[] = [];
    for (const job of jobs) {
      const old = had.get(job.name);
      if (old && old.job.schedule === job.schedule) {
        next.set(job.name, { job, timer: old.timer });
        continue;
      }
      old?.timer.stop();
      const timer = scheduleTimer(job.schedule, config.cron, (due) => this.fire(app, job.name, due, 'schedule'));
      next.set(job.name, { job, timer });
      const state = store.cron.state(app, job.name);
      if (starting && state !== undefined && (timer.nextRun(new Date(state.lastDue))?.getTime() ?? Infinity) <= Date.now()) {
        this.deps.log.info({ app, job: job.name, lastDue: state.lastDue }, 'scheduled job missed a time while the server was down; running it once now');
        missed.push(job.name);
      } else if (!state || !starting) {
        store.cron.setState(app, job.name, new Date().toISOString());
      }
    }
    for (const [name, old] of had) if (!next.has(name)) old.timer.stop();
    this.apps.set(app, { release, jobs: next });
    for (const name of missed) this.fire(app, name, new Date(), 'catch-up');
  }

  /** Starts a run (the job as the current release declares it) and notes the time as handled, whether it ran or was skipped. */
  private fire(app: string, name: string, due: Date, trigger: CronTrigger): void {
    const { store, log } = this.deps;
    const job = this.apps.get(app)?.jobs.get(name)?.job;
    if (!job) return;
    store.cron.setState(app, name, due.toISOString());
    runCronJob(this.deps, app, job, { trigger, dueAt: due, user: 'skiff', signal: this.stopping.signal }).then(
      (run) => log.info({ app, job: name, run: run.id, status: run.status, exitCode: run.exitCode }, 'scheduled run ended'),
      (err: unknown) => {
        if (err instanceof ConflictError) log.warn({ app, job: name, reason: err.message }, 'scheduled run skipped');
        else log.error({ err, app, job: name }, 'scheduled run failed to start');
      },
    );
  }
}
