import type { AccessStore } from '../store.js';
import { type Db, now } from './db.js';

export class SqliteAccess implements AccessStore {
  constructor(private readonly db: Db) {}

  grant(app: string, user: string, by: string): boolean {
    return this.db.prepare('INSERT OR IGNORE INTO access (app, user, granted_by, granted_at) VALUES (?, ?, ?, ?)').run(app, user, by, now()).changes > 0;
  }

  revoke(app: string, user: string): boolean {
    return this.db.prepare('DELETE FROM access WHERE app = ? AND user = ?').run(app, user).changes > 0;
  }

  list(app: string): string[] {
    return (this.db.prepare('SELECT user FROM access WHERE app = ? ORDER BY user').all(app) as { user: string }[]).map((r) => r.user);
  }

  has(app: string, user: string): boolean {
    return this.db.prepare('SELECT 1 FROM access WHERE app = ? AND user = ?').get(app, user) !== undefined;
  }
}
