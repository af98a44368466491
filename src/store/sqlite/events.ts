import type { EventStore } from '../store.js';
import type { AuditEvent } from '../../domain/entities.js';
import { type Row, type Db, now } from './db.js';

export class SqliteEvents implements EventStore {
  constructor(private readonly db: Db) {}

  record(e: Omit<AuditEvent, 'id' | 'time'>): void {
    this.db
      // The app's identity as it is when the event happens: a later app of the same name does not read it.
      .prepare(
        'INSERT INTO events (time, app, app_id, user, source, action, detail, outcome) VALUES (?, ?, (SELECT id FROM apps WHERE name = ?), ?, ?, ?, ?, ?)',
      )
      .run(now(), e.app, e.app, e.user, e.source, e.action, JSON.stringify(e.detail), e.outcome);
  }

  list(filter: { app?: string; appId?: string; limit: number; since?: string }): AuditEvent[] {
    const since = filter.since ?? '';
    const rows = (
      filter.appId !== undefined
        ? this.db.prepare('SELECT * FROM events WHERE app_id = ? AND time >= ? ORDER BY id DESC LIMIT ?').all(filter.appId, since, filter.limit)
        : filter.app !== undefined
          ? this.db.prepare('SELECT * FROM events WHERE app = ? AND time >= ? ORDER BY id DESC LIMIT ?').all(filter.app, since, filter.limit)
          : this.db.prepare('SELECT * FROM events WHERE time >= ? ORDER BY id DESC LIMIT ?').all(since, filter.limit)
    ) as Row[];
    return rows.map((r) => ({
      id: Number(r.id),
      time: String(r.time),
      app: r.app === null ? null : String(r.app),
      user: String(r.user),
      source: String(r.source),
      action: String(r.action),
      detail: JSON.parse(String(r.detail)) as Record<string, unknown>,
      outcome: String(r.outcome),
    }));
  }
}
