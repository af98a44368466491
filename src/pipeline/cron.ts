import { Readable, Writable } from 'node:stream';
import { shellCommand } from '../domain/procfile.js';
import type { CronJob } from '../domain/cron.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { Tail } from '../output/capped.js';
import type { CronRun, CronTrigger } from '../domain/entities.js';
import { oneOffSpec } from './one-off.js';
import type { PipelineDeps } from './deps.js';
import { isProcessAlive } from '../processes.js';
import { notifyWebhooks } from './notify.js';
import { withTimeout } from './timeout.js';

/** A run's history keeps the last 64 KiB of its output. */
export const CRON_OUTPUT_BYTES = 64 * 1024;

export type CronDeps = Pick<PipelineDeps, 'store' | 'runtime' | 'config' | 'log'>;

/** The jobs of the app's current release. */
export function currentJobs(deps: Pick<PipelineDeps, 'store'>, app: string): CronJob[] {
  return deps.store.releases.current(app)?.cron ?? [];
}

export function getJob(deps: Pick<PipelineDeps, 'store'>, app: string, name: string): CronJob {
  const jobs = currentJobs(deps, app);
  const job = jobs.find((j) => j.name === name);
  if (!job)
    throw new NotFoundError(
      `${app} has no scheduled job ${name}${jobs.length ? ` (it has ${jobs.map((j) => j.name).join(', ')})` : ' (declare it under cron: in skiff.yml)'}`,
    );
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
    if (running.length && job.concurrency === 'forbid')
      return `${job.name} is still running (run ${running[0].id}, since ${running[0].startedAt}) and its concurrency is forbid`;
    const others = store.cron.running(app).filter((r) => job.concurrency !== 'replace' || r.job !== job.name);
    if (others.length >= config.cron.maxRunning) return `${app} already has ${others.length} scheduled runs going (SKIFF_CRON_MAX_RUNNING)`;
    const replaced = job.concurrency === 'replace' ? running.map((r) => r.id) : [];
    for (const id of replaced) store.cron.finish(id, 'replaced', null, '');
    return {
      run: store.cron.start({ app, job: job.name, release, trigger: req.trigger, dueAt: req.dueAt?.toISOString() ?? null, pid: process.pid }),
      replaced,
    };
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
  const rel = store.releases.current(app);
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
    exitCode = await runtime.run(oneOffSpec(deps, rel, shellCommand(job.command), { cronRun: started.id }), {
      stdin: Readable.from([]),
      stdout: sink(req.stdout),
      stderr: sink(req.stderr ?? req.stdout),
      signal: limited.signal,
    });
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
    deps.store.events.record({
      app: run.app,
      user,
      source: 'cron',
      action: 'cron:run',
      detail: { job: run.job, run: run.id, trigger: run.trigger, release: run.release },
      outcome: `failed: ${run.job} ${why}`,
    });
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
