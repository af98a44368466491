import { Readable, Writable } from 'node:stream';
import { shellCommand } from '../domain/procfile.js';
import type { Cron } from 'croner';
import { scheduleTimer, type CronJob } from '../domain/cron.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { Tail } from '../output/capped.js';
import type { CronRun, CronTrigger } from '../store/store.js';
import { appIdentity, appMounts, oneOffLimits } from './converge.js';
import type { PipelineDeps } from './deps.js';
import { isProcessAlive } from './lock.js';
import { notifyWebhooks } from './notify.js';
import { withTimeout } from './timeout.js';

/** A run's history keeps the last 64 KiB of its output. */
export const CRON_OUTPUT_BYTES = 64 * 1024;

type CronDeps = Pick<PipelineDeps, 'store' | 'runtime' | 'config' | 'log'>;

/** The jobs of the app's current release. */
export function currentJobs(deps: Pick<PipelineDeps, 'store'>, app: string): CronJob[] {
  const current = deps.store.apps.find(app)?.currentRelease;
  return current ? (deps.store.releases.find(app, current)?.cron ?? []) : [];
}

export function getJob(deps: Pick<PipelineDeps, 'store'>, app: string, name: string): CronJob {
  const jobs = currentJobs(deps, app);
  const job = jobs.find((j) => j.name === name);
  if (!job) throw new NotFoundError(`${app} has no scheduled job ${name}${jobs.length ? ` (it has ${jobs.map((j) => j.name).join(', ')})` : ' (declare it under cron: in skiff.yml)'}`);
  return job;
}

/** Runs stopped from this process by a newer run (concurrency: replace), by id. */
const inProcess = new Map<number, AbortController>();

export interface CronRunRequest {
  trigger: CronTrigger;
  /** The scheduled time the run stands for. */
  dueAt: Date | null;
  /** Who asked: a user for cron:run, else the scheduler. */
  user: string;
  /** Where its output goes besides the history (cron:run streams it). */
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  signal: AbortSignal;
}

/**
 * Starts one run of a job, if its concurrency allows: the check and the
 * record are one transaction, so two processes cannot both start a
 * "forbid" job. Returns the run's record, or why it did not start.
 */
function begin(deps: CronDeps, app: string, job: CronJob, release: number, req: CronRunRequest): { run: CronRun; replaced: number[] } | string {
  const { store, config } = deps;
  return store.transaction(() => {
    // The app may be being destroyed since the caller looked (a destroy takes its release away first): no run then.
    if ((store.apps.find(app)?.currentRelease ?? null) === null) return `${app} has no release any more`;
    store.cron.failAbandoned(isProcessAlive);
    const running = store.cron.running(app, job.name);
    if (running.length && job.concurrency === 'forbid') return `${job.name} is still running (run ${running[0].id}, since ${running[0].startedAt}) and its concurrency is forbid`;
    const others = store.cron.running(app).filter((r) => job.concurrency !== 'replace' || r.job !== job.name);
    if (others.length >= config.cron.maxRunning) return `${app} already has ${others.length} scheduled runs going (SKIFF_CRON_MAX_RUNNING)`;
    const replaced = job.concurrency === 'replace' ? running.map((r) => r.id) : [];
    for (const id of replaced) store.cron.finish(id, 'replaced', null, '');
    return { run: store.cron.start({ app, job: job.name, release, trigger: req.trigger, dueAt: req.dueAt?.toISOString() ?? null, pid: process.pid }), replaced };
  });
}

/**
 * One run of a scheduled job: a one-off container of the app's current
 * release, with its config, volumes and limits, bounded by the job's timeout.
 * Its start, end, exit status and last 64 KiB of output are recorded; a
 * failed or timed-out run goes to the audit trail and the app's webhooks.
 * A run that concurrency does not allow is refused (ConflictError).
 */
export async function runCronJob(deps: CronDeps, app: string, job: CronJob, req: CronRunRequest): Promise<CronRun> {
  const { store, runtime, config, log } = deps;
  const current = store.apps.find(app)?.currentRelease;
  const rel = current ? store.releases.find(app, current) : undefined;
  if (!rel) throw new ConflictError(`${app} has no release yet; push to deploy first`);
  const begun = begin(deps, app, job, rel.version, req);
  if (typeof begun === 'string') throw new ConflictError(begun);
  const started = begun.run;
  // Known at once: a newer run may replace this one before its container is even made.
  const own = new AbortController();
  inProcess.set(started.id, own);
  // Runs this one replaces: stopped wherever they run (their process keeps their output).
  for (const id of begun.replaced) {
    inProcess.get(id)?.abort();
    await runtime.stopCronRuns(app, id).catch((err: unknown) => log.warn({ err, app, run: id }, 'could not stop a replaced run'));
  }
  const tail = new Tail(CRON_OUTPUT_BYTES);
  const sink = (to?: NodeJS.WritableStream): Writable =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        to?.write(chunk);
        tail.write(chunk, done);
      },
    });
  const timeoutSeconds = job.timeoutSeconds ?? config.cron.timeoutSeconds;
  // A run replaced by another process (cron:run at the host) is told by its record.
  const watch = setInterval(() => {
    if (store.cron.find(app, started.id)?.status !== 'running') own.abort();
  }, 1000);
  watch.unref();
  const limited = withTimeout(AbortSignal.any([req.signal, own.signal]), timeoutSeconds * 1000);
  let exitCode: number | null = null;
  let status: 'succeeded' | 'failed' | 'timed-out' | 'interrupted' | 'replaced';
  try {
    exitCode = await runtime.run(
      {
        app,
        release: rel.version,
        image: rel.image,
        env: { ...rel.config, PORT: String(config.appPort) },
        command: shellCommand(job.command),
        ...appIdentity(deps, app),
        ...oneOffLimits(deps, app),
        mounts: appMounts(deps, app),
        cronRun: started.id,
      },
      { stdin: Readable.from([]), stdout: sink(req.stdout), stderr: sink(req.stderr ?? req.stdout), signal: limited.signal },
    );
    if (own.signal.aborted) status = 'replaced';
    else if (limited.timedOut()) status = 'timed-out';
    else if (req.signal.aborted) status = 'interrupted';
    else status = exitCode === 0 ? 'succeeded' : 'failed';
  } catch (err) {
    log.error({ err, app, job: job.name, run: started.id }, 'scheduled run could not start');
    tail.write(`skiff: ${(err as Error).message}\n`);
    status = 'failed';
  } finally {
    clearInterval(watch);
    inProcess.delete(started.id);
  }
  if (status === 'timed-out') tail.write(`\n[skiff: stopped after ${timeoutSeconds} s, the job's timeout]\n`);
  store.cron.finish(started.id, status, status === 'timed-out' || status === 'replaced' ? null : exitCode, tail.text());
  // The app may have been destroyed meanwhile, its history with it.
  const run = store.cron.find(app, started.id) ?? { ...started, status: 'interrupted', finishedAt: new Date().toISOString(), output: tail.text() };
  if (run.status === 'failed' || run.status === 'timed-out') await reportFailure(deps, run, req.user);
  return run;
}

async function reportFailure(deps: CronDeps, run: CronRun, user: string): Promise<void> {
  const why = run.status === 'timed-out' ? 'timed out' : `exited with status ${run.exitCode ?? 'unknown'}`;
  try {
    deps.store.events.record({ app: run.app, user, source: 'cron', action: 'cron:run', detail: { job: run.job, run: run.id, trigger: run.trigger, release: run.release }, outcome: `failed: ${run.job} ${why}` });
  } catch (err) {
    deps.log.error({ err, app: run.app }, 'could not record event');
  }
  await notifyWebhooks(deps, run.app, {
    event: 'cron.failed',
    app: run.app,
    job: run.job,
    run: run.id,
    status: run.status,
    exitCode: run.exitCode,
    trigger: run.trigger,
    release: run.release,
    time: new Date().toISOString(),
  });
}

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
