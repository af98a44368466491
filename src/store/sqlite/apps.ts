import crypto from 'node:crypto';
import { ConflictError } from '../../errors.js';
import type { AppStore } from '../store.js';
import type { App } from '../../domain/entities.js';
import type { Maintenance } from '../../domain/maintenance.js';
import { type Row, type Db, now, isUniqueViolation } from './db.js';

function toApp(r: Row): App {
  return {
    id: String(r.id),
    name: String(r.name),
    createdAt: String(r.created_at),
    createdBy: String(r.created_by),
    currentRelease: r.current_release === null ? null : Number(r.current_release),
    stopped: Number(r.stopped) === 1,
    stack: r.stack === null || r.stack === undefined ? null : String(r.stack),
    runtime: r.runtime === null || r.runtime === undefined ? null : String(r.runtime),
    node: r.node === null || r.node === undefined ? null : String(r.node),
    reviewApps: r.review_apps === null || r.review_apps === undefined ? null : Number(r.review_apps),
    maintenance: r.maintenance === null || r.maintenance === undefined ? null : (JSON.parse(String(r.maintenance)) as Maintenance),
    reviewOf: r.review_parent === null || r.review_parent === undefined ? null : { parent: String(r.review_parent), branch: String(r.review_branch) },
  };
}

/** An app's identity: random, never given twice, fixed at creation. */
function newAppId(): string {
  return crypto.randomBytes(8).toString('hex');
}

export class SqliteApps implements AppStore {
  constructor(private readonly db: Db) {}

  create(name: string, createdBy: string, stack: string | null = null): App {
    try {
      this.db.prepare('INSERT INTO apps (id, name, created_at, created_by, stack) VALUES (?, ?, ?, ?, ?)').run(newAppId(), name, now(), createdBy, stack);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`app '${name}' already exists`);
      throw err;
    }
    return this.find(name) as App;
  }

  find(name: string): App | undefined {
    const r = this.db.prepare('SELECT * FROM apps WHERE name = ?').get(name) as Row | undefined;
    return r && toApp(r);
  }

  list(): App[] {
    return (this.db.prepare('SELECT * FROM apps ORDER BY name').all() as Row[]).map(toApp);
  }

  setCurrentRelease(name: string, version: number | null): void {
    this.db.prepare('UPDATE apps SET current_release = ? WHERE name = ?').run(version, name);
  }

  setStopped(name: string, stopped: boolean): void {
    this.db.prepare('UPDATE apps SET stopped = ? WHERE name = ?').run(stopped ? 1 : 0, name);
  }

  setStack(name: string, stack: string | null): void {
    this.db.prepare('UPDATE apps SET stack = ? WHERE name = ?').run(stack, name);
  }

  setRuntime(name: string, runtime: string | null): void {
    this.db.prepare('UPDATE apps SET runtime = ? WHERE name = ?').run(runtime, name);
  }

  setNode(name: string, node: string | null): void {
    this.db.prepare('UPDATE apps SET node = ? WHERE name = ?').run(node, name);
  }

  setMaintenance(name: string, maintenance: Maintenance | null): void {
    this.db.prepare('UPDATE apps SET maintenance = ? WHERE name = ?').run(maintenance === null ? null : JSON.stringify(maintenance), name);
  }

  setReviewApps(name: string, max: number | null): void {
    this.db.prepare('UPDATE apps SET review_apps = ? WHERE name = ?').run(max, name);
  }

  createReview(name: string, parent: string, branch: string, owner: string): App {
    try {
      this.db
        .prepare('INSERT INTO apps (id, name, created_at, created_by, review_parent, review_branch) VALUES (?, ?, ?, ?, ?, ?)')
        .run(newAppId(), name, now(), owner, parent, branch);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`app '${name}' already exists`);
      throw err;
    }
    return this.find(name) as App;
  }

  reviewAppsOf(parent: string): App[] {
    return (this.db.prepare('SELECT * FROM apps WHERE review_parent = ? ORDER BY name').all(parent) as Row[]).map(toApp);
  }

  usingStack(stack: string): string[] {
    return (this.db.prepare('SELECT name FROM apps WHERE stack = ? ORDER BY name').all(stack) as { name: string }[]).map((r) => r.name);
  }

  remove(name: string): void {
    this.db
      .transaction(() => {
        for (const table of [
          'releases',
          'builds',
          'locks',
          'config_vars',
          'formation',
          'mounts',
          'domains',
          'routes',
          'access',
          'webhooks',
          'cron_runs',
          'cron_jobs',
          'pipeline_apps',
          'config_group_apps',
          'certificates',
        ]) {
          this.db.prepare(`DELETE FROM ${table} WHERE app = ?`).run(name);
        }
        this.db.prepare('DELETE FROM apps WHERE name = ?').run(name);
      })
      .immediate();
  }
}
