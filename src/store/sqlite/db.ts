import type Database from 'better-sqlite3';
import { ConflictError } from '../../errors.js';
import type { SecretBox } from '../secret-box.js';

/** A row as better-sqlite3 gives it: each column a SQLite value. */
export type Row = Record<string, string | number | bigint | Buffer | null>;

export type Db = Database.Database;

export const now = (): string => new Date().toISOString();

/** Inserts a named thing a user owns (a pipeline, a config group); a name taken already is a conflict. */
export function insertOwned(db: Db, table: 'pipelines' | 'config_groups', name: string, owner: string, what: string): void {
  try {
    db.prepare(`INSERT INTO ${table} (name, owner, created_at) VALUES (?, ?, ?)`).run(name, owner, now());
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(`${what} ${name} exists already`);
    throw err;
  }
}

/** Encrypted KEY=VALUE rows of one owner: an app's config (config_vars by app), a group's (config_group_vars by grp). */
export class SealedVars {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    private readonly table: 'config_vars' | 'config_group_vars',
    private readonly owner: 'app' | 'grp',
  ) {}

  get(owner: string): Record<string, string> {
    const rows = this.db.prepare(`SELECT key, value FROM ${this.table} WHERE ${this.owner} = ? ORDER BY key`).all(owner) as { key: string; value: string }[];
    return Object.fromEntries(rows.map((r) => [r.key, this.box.open(r.value)]));
  }

  update(owner: string, set: Record<string, string>, unset: readonly string[]): void {
    this.db
      .transaction(() => {
        const put = this.db.prepare(
          `INSERT INTO ${this.table} (${this.owner}, key, value) VALUES (?, ?, ?) ON CONFLICT (${this.owner}, key) DO UPDATE SET value = excluded.value`,
        );
        for (const [key, value] of Object.entries(set)) put.run(owner, key, this.box.seal(value));
        const del = this.db.prepare(`DELETE FROM ${this.table} WHERE ${this.owner} = ? AND key = ?`);
        for (const key of unset) del.run(owner, key);
      })
      .immediate();
  }
}

export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Error && 'code' in err && String(err.code).startsWith('SQLITE_CONSTRAINT');
}
