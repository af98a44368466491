import type { SecretBox } from '../secret-box.js';
import type { ReleaseStore } from '../store.js';
import type { Release, ReleaseStatus } from '../../domain/entities.js';
import type { Processes } from '../../domain/procfile.js';
import type { CronJob } from '../../domain/cron.js';
import type { Overlays } from '../../domain/pipeline.js';
import { NO_SCRIPTS, type ReleaseScripts } from '../../domain/app-json.js';
import { type Row, type Db, now } from './db.js';

function toRelease(r: Row, box: SecretBox): Release {
  return {
    app: String(r.app),
    version: Number(r.version),
    image: String(r.image),
    commit: String(r.commit_sha),
    buildId: r.build_id === null ? null : Number(r.build_id),
    pusher: String(r.pusher),
    description: String(r.description),
    status: String(r.status) as ReleaseStatus,
    createdAt: String(r.created_at),
    config: JSON.parse(box.open(String(r.config))) as Record<string, string>,
    processes: JSON.parse(String(r.processes)) as Processes,
    healthcheck: r.healthcheck === null || r.healthcheck === undefined ? null : String(r.healthcheck),
    port: r.port === null || r.port === undefined ? null : Number(r.port),
    cron: r.cron === null || r.cron === undefined ? [] : (JSON.parse(String(r.cron)) as CronJob[]),
    environments: r.environments === null || r.environments === undefined ? {} : (JSON.parse(String(r.environments)) as Overlays),
    scripts:
      r.scripts === null || r.scripts === undefined ? { ...NO_SCRIPTS } : { ...NO_SCRIPTS, ...(JSON.parse(String(r.scripts)) as Partial<ReleaseScripts>) },
  };
}

export class SqliteReleases implements ReleaseStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  create(r: Omit<Release, 'version' | 'status' | 'createdAt' | 'image'>, imageFor: (version: number) => string): Release {
    return this.db
      .transaction(() => {
        const { next } = this.db.prepare('SELECT COALESCE(MAX(version), 0) + 1 AS next FROM releases WHERE app = ?').get(r.app) as { next: number };
        this.db
          .prepare(
            `INSERT INTO releases (app, version, image, commit_sha, build_id, pusher, description, status, created_at, config, processes, healthcheck, port, cron, scripts, environments)
           VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            r.app,
            next,
            imageFor(next),
            r.commit,
            r.buildId,
            r.pusher,
            r.description,
            now(),
            this.box.seal(JSON.stringify(r.config)),
            JSON.stringify(r.processes),
            r.healthcheck,
            r.port,
            r.cron.length ? JSON.stringify(r.cron) : null,
            Object.values(r.scripts).some((v) => v !== null) ? JSON.stringify(r.scripts) : null,
            Object.keys(r.environments).length ? JSON.stringify(r.environments) : null,
          );
        return this.find(r.app, next) as Release;
      })
      .immediate();
  }

  setStatus(app: string, version: number, status: ReleaseStatus): void {
    this.db.prepare('UPDATE releases SET status = ? WHERE app = ? AND version = ?').run(status, app, version);
  }

  find(app: string, version: number): Release | undefined {
    const r = this.db.prepare('SELECT * FROM releases WHERE app = ? AND version = ?').get(app, version) as Row | undefined;
    return r && toRelease(r, this.box);
  }

  current(app: string): Release | undefined {
    const r = this.db.prepare('SELECT r.* FROM releases r JOIN apps a ON a.name = r.app AND a.current_release = r.version WHERE a.name = ?').get(app) as
      Row | undefined;
    return r && toRelease(r, this.box);
  }

  list(app: string): Release[] {
    return (this.db.prepare('SELECT * FROM releases WHERE app = ? ORDER BY version DESC').all(app) as Row[]).map((r) => toRelease(r, this.box));
  }

  failAbandoned(app: string): void {
    this.db.prepare("UPDATE releases SET status = 'failed' WHERE app = ? AND status = 'pending'").run(app);
  }
}
