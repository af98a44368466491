import { ConflictError } from '../../errors.js';
import type { DomainStore } from '../store.js';
import { type Db, now } from './db.js';

export class SqliteDomains implements DomainStore {
  constructor(private readonly db: Db) {}

  /**
   * A domain's subtree is its app's: a host under another app's domain is
   * refused, and so is a host over one (it would put that domain in this
   * app's subtree).
   */
  add(app: string, host: string): void {
    this.db
      .transaction(() => {
        const owner = this.db.prepare('SELECT app FROM domains WHERE host = ?').get(host) as { app: string } | undefined;
        if (owner) throw new ConflictError(owner.app === app ? `${host} is already a domain of ${app}` : `${host} belongs to another app`);
        const labels = host.split('.');
        const above = labels.slice(1, -1).map((_, i) => labels.slice(i + 1).join('.'));
        for (const parent of above) {
          const holder = this.db.prepare('SELECT app FROM domains WHERE host = ? AND app <> ?').get(parent, app) as { app: string } | undefined;
          if (holder) throw new ConflictError(`${host} is under ${parent}, a domain of another app; each domain's names belong to its app`);
        }
        const below = this.db.prepare("SELECT host FROM domains WHERE app <> ? AND substr(host, -length(?) - 1) = '.' || ?").get(app, host, host) as
          { host: string } | undefined;
        if (below) throw new ConflictError(`${below.host}, under ${host}, is a domain of another app; each domain's names belong to its app`);
        this.db.prepare('INSERT INTO domains (host, app, added_at) VALUES (?, ?, ?)').run(host, app, now());
      })
      .immediate();
  }

  addedSince(apps: readonly string[], since: string): number {
    if (apps.length === 0) return 0;
    const row = this.db.prepare(`SELECT count(*) AS n FROM domains WHERE added_at >= ? AND app IN (${apps.map(() => '?').join(', ')})`).get(since, ...apps) as {
      n: number;
    };
    return Number(row.n);
  }

  remove(app: string, host: string): boolean {
    return this.db.prepare('DELETE FROM domains WHERE app = ? AND host = ?').run(app, host).changes > 0;
  }

  list(app: string): string[] {
    return (this.db.prepare('SELECT host FROM domains WHERE app = ? ORDER BY host').all(app) as { host: string }[]).map((r) => r.host);
  }

  owner(host: string): string | undefined {
    return (this.db.prepare('SELECT app FROM domains WHERE host = ?').get(host) as { app: string } | undefined)?.app;
  }
}
