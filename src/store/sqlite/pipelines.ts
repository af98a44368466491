import { ConflictError } from '../../errors.js';
import type { PipelineStore } from '../store.js';
import type { Pipeline } from '../../domain/entities.js';
import { STAGES, type Stage } from '../../domain/pipeline.js';
import { type Row, type Db, now, insertOwned } from './db.js';

export class SqlitePipelines implements PipelineStore {
  constructor(private readonly db: Db) {}

  create(name: string, owner: string): Pipeline {
    insertOwned(this.db, 'pipelines', name, owner, 'pipeline');
    return this.find(name) as Pipeline;
  }

  find(name: string): Pipeline | undefined {
    const r = this.db.prepare('SELECT * FROM pipelines WHERE name = ?').get(name) as Row | undefined;
    if (!r) return undefined;
    const apps = this.db.prepare('SELECT app, stage FROM pipeline_apps WHERE pipeline = ? ORDER BY added_at, app').all(name) as Row[];
    const order = (s: string): number => STAGES.indexOf(s as Stage);
    return {
      name: String(r.name),
      owner: String(r.owner),
      createdAt: String(r.created_at),
      apps: apps.map((a) => ({ app: String(a.app), stage: String(a.stage) as Stage })).sort((a, b) => order(a.stage) - order(b.stage)),
    };
  }

  list(): Pipeline[] {
    return (this.db.prepare('SELECT name FROM pipelines ORDER BY name').all() as Row[]).map((r) => this.find(String(r.name)) as Pipeline);
  }

  remove(name: string): void {
    this.db
      .transaction(() => {
        this.db.prepare('DELETE FROM pipeline_apps WHERE pipeline = ?').run(name);
        this.db.prepare('DELETE FROM pipelines WHERE name = ?').run(name);
      })
      .immediate();
  }

  addApp(pipeline: string, app: string, stage: Stage): void {
    const other = this.ofApp(app);
    if (other && other.pipeline !== pipeline)
      throw new ConflictError(`${app} is in pipeline ${other.pipeline} already; pipelines:remove ${other.pipeline} ${app} first`);
    this.db
      .prepare('INSERT INTO pipeline_apps (app, pipeline, stage, added_at) VALUES (?, ?, ?, ?) ON CONFLICT (app) DO UPDATE SET stage = excluded.stage')
      .run(app, pipeline, stage, now());
  }

  removeApp(app: string): boolean {
    return this.db.prepare('DELETE FROM pipeline_apps WHERE app = ?').run(app).changes > 0;
  }

  ofApp(app: string): { pipeline: string; stage: Stage } | undefined {
    const r = this.db.prepare('SELECT pipeline, stage FROM pipeline_apps WHERE app = ?').get(app) as Row | undefined;
    return r && { pipeline: String(r.pipeline), stage: String(r.stage) as Stage };
  }
}
