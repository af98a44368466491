import type { BuildStore } from '../store.js';
import type { Build, BuildStatus } from '../../domain/entities.js';
import { type Row, type Db, now } from './db.js';

function toBuild(r: Row): Build {
  return {
    id: Number(r.id),
    app: String(r.app),
    commit: String(r.commit_sha),
    ref: String(r.ref),
    status: String(r.status) as BuildStatus,
    pusher: String(r.pusher),
    pid: Number(r.pid),
    startedAt: String(r.started_at),
    finishedAt: r.finished_at === null ? null : String(r.finished_at),
    logPath: String(r.log_path),
    error: r.error === null ? null : String(r.error),
    timings: r.timings === null || r.timings === undefined ? [] : (JSON.parse(String(r.timings)) as Build['timings']),
  };
}

export class SqliteBuilds implements BuildStore {
  constructor(private readonly db: Db) {}

  start(b: Pick<Build, 'app' | 'commit' | 'ref' | 'pusher' | 'pid'>, logPathFor: (id: number) => string): Build {
    return this.db
      .transaction(() => {
        const info = this.db
          .prepare(
            `INSERT INTO builds (app, commit_sha, ref, status, pusher, pid, started_at, log_path)
           VALUES (?, ?, ?, 'running', ?, ?, ?, '')`,
          )
          .run(b.app, b.commit, b.ref, b.pusher, b.pid, now());
        const id = Number(info.lastInsertRowid);
        this.db.prepare('UPDATE builds SET log_path = ? WHERE id = ?').run(logPathFor(id), id);
        return toBuild(this.db.prepare('SELECT * FROM builds WHERE id = ?').get(id) as Row);
      })
      .immediate();
  }

  finish(id: number, status: Exclude<BuildStatus, 'running'>, error?: string): void {
    this.db.prepare('UPDATE builds SET status = ?, finished_at = ?, error = ? WHERE id = ?').run(status, now(), error ?? null, id);
  }

  setTimings(id: number, timings: Build['timings']): void {
    this.db.prepare('UPDATE builds SET timings = ? WHERE id = ?').run(JSON.stringify(timings), id);
  }

  find(app: string, id: number): Build | undefined {
    const r = this.db.prepare('SELECT * FROM builds WHERE app = ? AND id = ?').get(app, id) as Row | undefined;
    return r && toBuild(r);
  }

  latest(app: string): Build | undefined {
    const r = this.db.prepare('SELECT * FROM builds WHERE app = ? ORDER BY id DESC LIMIT 1').get(app) as Row | undefined;
    return r && toBuild(r);
  }

  list(app: string): Build[] {
    return (this.db.prepare('SELECT * FROM builds WHERE app = ? ORDER BY id DESC').all(app) as Row[]).map(toBuild);
  }

  running(): Build[] {
    return (this.db.prepare("SELECT * FROM builds WHERE status = 'running' ORDER BY id").all() as Row[]).map(toBuild);
  }

  failAbandoned(isAlive: (pid: number) => boolean): Build[] {
    return this.db
      .transaction(() => {
        const running = (this.db.prepare("SELECT * FROM builds WHERE status = 'running'").all() as Row[]).map(toBuild);
        const abandoned = running.filter((b) => !isAlive(b.pid));
        for (const b of abandoned) {
          this.finish(b.id, 'failed', 'interrupted: the build process ended before the build did');
        }
        return abandoned;
      })
      .immediate();
  }
}
