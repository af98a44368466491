import type { TokenStore } from '../store.js';
import type { Token } from '../../domain/entities.js';
import { type Row, type Db, now } from './db.js';

function toToken(r: Row): Token {
  return {
    id: Number(r.id),
    user: String(r.user),
    name: String(r.name),
    createdAt: String(r.created_at),
    expiresAt: r.expires_at === null ? null : String(r.expires_at),
    revokedAt: r.revoked_at === null ? null : String(r.revoked_at),
    lastUsedAt: r.last_used_at === null ? null : String(r.last_used_at),
  };
}

export class SqliteTokens implements TokenStore {
  constructor(private readonly db: Db) {}

  create(t: { user: string; name: string; hash: string; expiresAt: string | null }): Token {
    const info = this.db
      .prepare('INSERT INTO tokens (user, name, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)')
      .run(t.user, t.name, t.hash, now(), t.expiresAt);
    return this.find(Number(info.lastInsertRowid)) as Token;
  }

  use(hash: string, at: Date): Token | undefined {
    const r = this.db
      .prepare(
        'SELECT * FROM tokens WHERE hash = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) AND EXISTS (SELECT 1 FROM keys WHERE keys.user = tokens.user)',
      )
      .get(hash, at.toISOString()) as Row | undefined;
    if (!r) return undefined;
    this.db.prepare('UPDATE tokens SET last_used_at = ? WHERE id = ?').run(at.toISOString(), r.id);
    return toToken(r);
  }

  list(user?: string): Token[] {
    const rows = (
      user === undefined
        ? this.db.prepare('SELECT * FROM tokens ORDER BY id').all()
        : this.db.prepare('SELECT * FROM tokens WHERE user = ? ORDER BY id').all(user)
    ) as Row[];
    return rows.map(toToken);
  }

  revoke(id: number): boolean {
    return this.db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(now(), id).changes > 0;
  }

  find(id: number): Token | undefined {
    const r = this.db.prepare('SELECT * FROM tokens WHERE id = ?').get(id) as Row | undefined;
    return r && toToken(r);
  }
}
