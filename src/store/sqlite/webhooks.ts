import { ConflictError } from '../../errors.js';
import type { WebhookStore } from '../store.js';
import type { Webhook } from '../../domain/entities.js';
import { type Row, type Db, isUniqueViolation } from './db.js';

export class SqliteWebhooks implements WebhookStore {
  constructor(private readonly db: Db) {}

  add(app: string, url: string, by: string): Webhook {
    try {
      const info = this.db.prepare('INSERT INTO webhooks (app, url, created_by) VALUES (?, ?, ?)').run(app, url, by);
      return { id: Number(info.lastInsertRowid), app, url, createdBy: by };
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`${app} has that webhook already`);
      throw err;
    }
  }

  remove(app: string, id: number): boolean {
    return this.db.prepare('DELETE FROM webhooks WHERE app = ? AND id = ?').run(app, id).changes > 0;
  }

  list(app: string): Webhook[] {
    return (this.db.prepare('SELECT * FROM webhooks WHERE app = ? ORDER BY id').all(app) as Row[]).map((r) => ({
      id: Number(r.id),
      app: String(r.app),
      url: String(r.url),
      createdBy: String(r.created_by),
    }));
  }
}
