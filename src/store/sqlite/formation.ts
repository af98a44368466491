import type { FormationStore } from '../store.js';
import type { FormationEntry } from '../../domain/formation.js';
import type { Row, Db } from './db.js';

export class SqliteFormation implements FormationStore {
  constructor(private readonly db: Db) {}

  list(app: string): FormationEntry[] {
    const rows = this.db.prepare('SELECT * FROM formation WHERE app = ? ORDER BY process').all(app) as Row[];
    return rows.map((r) => ({
      process: String(r.process),
      quantity: r.quantity === null ? null : Number(r.quantity),
      memory: r.memory === null ? null : Number(r.memory),
      cpus: r.cpus === null ? null : Number(r.cpus),
    }));
  }

  setQuantities(app: string, counts: Record<string, number | null>): void {
    this.db
      .transaction(() => {
        const put = this.db.prepare(
          'INSERT INTO formation (app, process, quantity) VALUES (?, ?, ?) ON CONFLICT (app, process) DO UPDATE SET quantity = excluded.quantity',
        );
        for (const [process, n] of Object.entries(counts)) put.run(app, process, n);
      })
      .immediate();
  }

  setResources(app: string, process: string, limits: { memory?: number | null; cpus?: number | null }): void {
    this.db
      .transaction(() => {
        this.db.prepare('INSERT INTO formation (app, process) VALUES (?, ?) ON CONFLICT (app, process) DO NOTHING').run(app, process);
        if (limits.memory !== undefined) this.db.prepare('UPDATE formation SET memory = ? WHERE app = ? AND process = ?').run(limits.memory, app, process);
        if (limits.cpus !== undefined) this.db.prepare('UPDATE formation SET cpus = ? WHERE app = ? AND process = ?').run(limits.cpus, app, process);
      })
      .immediate();
  }
}
