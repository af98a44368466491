import type { LockStore } from '../store.js';
import type { LockHolder } from '../../domain/entities.js';
import { type Row, type Db, now } from './db.js';

function toHolder(r: Row): LockHolder {
  return {
    app: String(r.app),
    pid: Number(r.pid),
    holder: String(r.holder),
    purpose: String(r.purpose),
    since: String(r.since),
  };
}

export class SqliteLocks implements LockStore {
  constructor(private readonly db: Db) {}

  tryAcquire(h: Omit<LockHolder, 'since'>, isAlive: (pid: number) => boolean): LockHolder | undefined {
    return this.db
      .transaction(() => {
        const r = this.db.prepare('SELECT * FROM locks WHERE app = ?').get(h.app) as Row | undefined;
        if (r) {
          const current = toHolder(r);
          if (current.pid !== h.pid && isAlive(current.pid)) return current;
          this.db.prepare('DELETE FROM locks WHERE app = ?').run(h.app);
        }
        this.db.prepare('INSERT INTO locks (app, pid, holder, purpose, since) VALUES (?, ?, ?, ?, ?)').run(h.app, h.pid, h.holder, h.purpose, now());
        return undefined;
      })
      .immediate();
  }

  release(app: string, pid: number): void {
    this.db.prepare('DELETE FROM locks WHERE app = ? AND pid = ?').run(app, pid);
  }
}
