import type { CronStore } from '../store.js';
import type { CronJobState, CronRun, CronRunStatus, CronTrigger } from '../../domain/entities.js';
import { type Row, type Db, now } from './db.js';

/** Runs of one job kept in the history; older ones go as new ones start. */
const KEEP_CRON_RUNS = 100;

function toCronRun(r: Row): CronRun {
  return {
    id: Number(r.id),
    app: String(r.app),
    job: String(r.job),
    release: Number(r.release),
    trigger: String(r.trigger) as CronTrigger,
    dueAt: r.due_at === null ? null : String(r.due_at),
    startedAt: String(r.started_at),
    finishedAt: r.finished_at === null ? null : String(r.finished_at),
    status: String(r.status) as CronRunStatus,
    exitCode: r.exit_code === null ? null : Number(r.exit_code),
    output: String(r.output),
    pid: Number(r.pid),
  };
}

export class SqliteCron implements CronStore {
  constructor(private readonly db: Db) {}

  start(run: Pick<CronRun, 'app' | 'job' | 'release' | 'trigger' | 'dueAt' | 'pid'>): CronRun {
    return this.db
      .transaction(() => {
        const info = this.db
          .prepare(`INSERT INTO cron_runs (app, job, release, trigger, due_at, started_at, status, pid) VALUES (?, ?, ?, ?, ?, ?, 'running', ?)`)
          .run(run.app, run.job, run.release, run.trigger, run.dueAt, now(), run.pid);
        this.db
          .prepare(
            `DELETE FROM cron_runs WHERE app = ? AND job = ? AND status != 'running' AND id NOT IN (SELECT id FROM cron_runs WHERE app = ? AND job = ? ORDER BY id DESC LIMIT ?)`,
          )
          .run(run.app, run.job, run.app, run.job, KEEP_CRON_RUNS);
        return toCronRun(this.db.prepare('SELECT * FROM cron_runs WHERE id = ?').get(info.lastInsertRowid) as Row);
      })
      .immediate();
  }

  finish(id: number, status: Exclude<CronRunStatus, 'running'>, exitCode: number | null, output: string): void {
    this.db
      .prepare(`UPDATE cron_runs SET status = ?, exit_code = ?, output = ?, finished_at = ? WHERE id = ? AND status = 'running'`)
      .run(status, exitCode, output, now(), id);
    // A run replaced meanwhile keeps that status, with the output it had.
    this.db.prepare(`UPDATE cron_runs SET output = ?, exit_code = COALESCE(exit_code, ?) WHERE id = ? AND status = 'replaced'`).run(output, exitCode, id);
  }

  find(app: string, id: number): CronRun | undefined {
    const r = this.db.prepare('SELECT * FROM cron_runs WHERE app = ? AND id = ?').get(app, id) as Row | undefined;
    return r && toCronRun(r);
  }

  runs(app: string, filter: { job?: string; limit: number }): CronRun[] {
    const rows =
      filter.job === undefined
        ? this.db.prepare('SELECT * FROM cron_runs WHERE app = ? ORDER BY id DESC LIMIT ?').all(app, filter.limit)
        : this.db.prepare('SELECT * FROM cron_runs WHERE app = ? AND job = ? ORDER BY id DESC LIMIT ?').all(app, filter.job, filter.limit);
    return (rows as Row[]).map(toCronRun);
  }

  running(app: string, job?: string): CronRun[] {
    const rows =
      job === undefined
        ? this.db.prepare(`SELECT * FROM cron_runs WHERE app = ? AND status = 'running' ORDER BY id`).all(app)
        : this.db.prepare(`SELECT * FROM cron_runs WHERE app = ? AND job = ? AND status = 'running' ORDER BY id`).all(app, job);
    return (rows as Row[]).map(toCronRun);
  }

  lastSuccess(app: string, job: string): CronRun | undefined {
    const r = this.db.prepare(`SELECT * FROM cron_runs WHERE app = ? AND job = ? AND status = 'succeeded' ORDER BY id DESC LIMIT 1`).get(app, job) as
      Row | undefined;
    return r && toCronRun(r);
  }

  failAbandoned(isAlive: (pid: number) => boolean): CronRun[] {
    return this.db
      .transaction(() => {
        const running = (this.db.prepare(`SELECT * FROM cron_runs WHERE status = 'running'`).all() as Row[]).map(toCronRun);
        const abandoned = running.filter((r) => !isAlive(r.pid));
        for (const r of abandoned) this.db.prepare(`UPDATE cron_runs SET status = 'interrupted', finished_at = ? WHERE id = ?`).run(now(), r.id);
        return abandoned;
      })
      .immediate();
  }

  state(app: string, job: string): CronJobState | undefined {
    const r = this.db.prepare('SELECT since, last_due FROM cron_jobs WHERE app = ? AND job = ?').get(app, job) as Row | undefined;
    return r && { since: String(r.since), lastDue: String(r.last_due) };
  }

  setState(app: string, job: string, lastDue: string): void {
    this.db
      .prepare('INSERT INTO cron_jobs (app, job, since, last_due) VALUES (?, ?, ?, ?) ON CONFLICT (app, job) DO UPDATE SET last_due = excluded.last_due')
      .run(app, job, now(), lastDue);
  }
}
