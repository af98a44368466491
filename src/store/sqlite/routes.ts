import type { RouteStore } from '../store.js';
import type { Hold } from '../../domain/entities.js';
import type { Maintenance } from '../../domain/maintenance.js';
import type { Db } from './db.js';

export class SqliteRoutes implements RouteStore {
  constructor(private readonly db: Db) {}

  set(app: string, upstreams: readonly string[]): void {
    this.db
      .prepare('INSERT INTO routes (app, upstreams) VALUES (?, ?) ON CONFLICT (app) DO UPDATE SET upstreams = excluded.upstreams')
      .run(app, JSON.stringify(upstreams));
  }

  get(app: string): string[] | undefined {
    const r = this.db.prepare('SELECT upstreams FROM routes WHERE app = ?').get(app) as { upstreams: string } | undefined;
    return r && (JSON.parse(r.upstreams) as string[]);
  }

  hold(app: string, held: Hold | null): void {
    this.db
      .prepare("INSERT INTO routes (app, upstreams, held) VALUES (?, '[]', ?) ON CONFLICT (app) DO UPDATE SET held = excluded.held")
      .run(app, held === null ? null : JSON.stringify(held));
  }

  held(app: string): Hold | null {
    const r = this.db.prepare('SELECT held FROM routes WHERE app = ?').get(app) as { held: string | null } | undefined;
    return r?.held ? (JSON.parse(r.held) as Hold) : null;
  }

  all(): { app: string; upstreams: string[]; hosts: string[]; held: Hold | null; maintenance: Maintenance | null }[] {
    const rows = this.db
      .prepare('SELECT a.name AS app, a.maintenance, r.upstreams, r.held FROM apps a LEFT JOIN routes r ON r.app = a.name ORDER BY a.name')
      .all() as {
      app: string;
      maintenance: string | null;
      upstreams: string | null;
      held: string | null;
    }[];
    const domains = this.db.prepare('SELECT host, app FROM domains ORDER BY host').all() as { host: string; app: string }[];
    return rows.map((r) => ({
      app: r.app,
      upstreams: r.upstreams === null ? [] : (JSON.parse(r.upstreams) as string[]),
      hosts: domains.filter((d) => d.app === r.app).map((d) => d.host),
      held: r.held === null ? null : (JSON.parse(r.held) as Hold),
      maintenance: r.maintenance === null ? null : (JSON.parse(r.maintenance) as Maintenance),
    }));
  }
}
