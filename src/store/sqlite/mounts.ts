import { ConflictError } from '../../errors.js';
import type { MountStore } from '../store.js';
import type { Mount } from '../../domain/entities.js';
import type { Row, Db } from './db.js';

export class SqliteMounts implements MountStore {
  constructor(private readonly db: Db) {}

  list(app: string): Mount[] {
    const rows = this.db.prepare('SELECT name, path, single_writer, from_app, shared_by, created_at FROM mounts WHERE app = ? ORDER BY name').all(app) as Row[];
    return rows.map(toMount);
  }

  sharesBy(user: string, app: string): (Mount & { app: string })[] {
    const rows = this.db
      .prepare(
        'SELECT app, name, path, single_writer, from_app, shared_by, created_at FROM mounts WHERE shared_by = ? AND (app = ? OR from_app = ?) ORDER BY app, name',
      )
      .all(user, app, app) as Row[];
    return rows.map((r) => ({ ...toMount(r), app: String(r.app) }));
  }

  add(app: string, name: string, path: string, options: { singleWriter?: boolean; from?: string | null; sharedBy?: string | null } = {}): Mount {
    return this.db
      .transaction(() => {
        const same = this.db.prepare('SELECT name, path FROM mounts WHERE app = ? AND (name = ? OR path = ?)').get(app, name, path) as Row | undefined;
        if (same)
          throw new ConflictError(
            same.name === name ? `${app} mounts ${name} already, at ${String(same.path)}` : `${app} mounts ${String(same.name)} at ${path} already`,
          );
        const createdAt = new Date().toISOString();
        const singleWriter = options.singleWriter === true;
        const from = options.from ?? null;
        const sharedBy = from === null ? null : (options.sharedBy ?? null);
        this.db
          .prepare('INSERT INTO mounts (app, name, path, single_writer, from_app, shared_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
          .run(app, name, path, singleWriter ? 1 : 0, from, sharedBy, createdAt);
        return { name, path, singleWriter, from, sharedBy, createdAt };
      })
      .immediate();
  }

  remove(app: string, name: string): boolean {
    return this.db.prepare('DELETE FROM mounts WHERE app = ? AND name = ?').run(app, name).changes > 0;
  }

  sharers(app: string, name?: string): string[] {
    const rows = this.db
      .prepare('SELECT DISTINCT app FROM mounts WHERE from_app = ? AND (? IS NULL OR name = ?) ORDER BY app')
      .all(app, name ?? null, name ?? null) as { app: string }[];
    return rows.map((r) => r.app);
  }
}

function toMount(r: Row): Mount {
  return {
    name: String(r.name),
    path: String(r.path),
    singleWriter: Number(r.single_writer) === 1,
    from: r.from_app === null ? null : String(r.from_app),
    sharedBy: r.shared_by === null || r.shared_by === undefined ? null : String(r.shared_by),
    createdAt: String(r.created_at),
  };
}
