import { ConflictError } from '../../errors.js';
import type { KeyStore } from '../store.js';
import type { Key } from '../../domain/entities.js';
import { type Row, type Db, now, isUniqueViolation } from './db.js';

function toKey(r: Row): Key {
  return {
    id: Number(r.id),
    user: String(r.user),
    fingerprint: String(r.fingerprint),
    publicKey: String(r.public_key),
    admin: Number(r.admin) === 1,
    createdAt: String(r.created_at),
  };
}

export class SqliteKeys implements KeyStore {
  constructor(private readonly db: Db) {}

  add(key: Omit<Key, 'id' | 'createdAt'>): Key {
    try {
      const info = this.db
        .prepare('INSERT INTO keys (user, fingerprint, public_key, admin, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(key.user, key.fingerprint, key.publicKey, key.admin ? 1 : 0, now());
      return toKey(this.db.prepare('SELECT * FROM keys WHERE id = ?').get(info.lastInsertRowid) as Row);
    } catch (err) {
      if (isUniqueViolation(err)) {
        const owner = this.findByFingerprint(key.fingerprint);
        throw new ConflictError(`that key is already registered (to ${owner?.user ?? 'another user'})`);
      }
      throw err;
    }
  }

  findByFingerprint(fingerprint: string): Key | undefined {
    const r = this.db.prepare('SELECT * FROM keys WHERE fingerprint = ?').get(fingerprint) as Row | undefined;
    return r && toKey(r);
  }

  list(): Key[] {
    return (this.db.prepare('SELECT * FROM keys ORDER BY user, id').all() as Row[]).map(toKey);
  }

  removeUser(user: string): number {
    // A user without keys is no user: their tokens go with the last key.
    return this.db
      .transaction(() => {
        const removed = this.db.prepare('DELETE FROM keys WHERE user = ?').run(user).changes;
        this.db.prepare('UPDATE tokens SET revoked_at = ? WHERE user = ? AND revoked_at IS NULL').run(now(), user);
        return removed;
      })
      .immediate();
  }

  isAdmin(user: string): boolean {
    return this.db.prepare('SELECT 1 FROM keys WHERE user = ? AND admin = 1 LIMIT 1').get(user) !== undefined;
  }

  hasUser(user: string): boolean {
    return this.db.prepare('SELECT 1 FROM keys WHERE user = ? LIMIT 1').get(user) !== undefined;
  }
}
