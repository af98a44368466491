import { ConflictError } from '../../errors.js';
import type { StackStore } from '../store.js';
import type { Stack } from '../../domain/entities.js';
import type { StackDefinition } from '../../domain/stackfile.js';
import { type Row, type Db, now, isUniqueViolation } from './db.js';

function toStack(r: Row): Stack {
  return {
    name: String(r.name),
    creator: String(r.creator),
    published: Number(r.published) === 1,
    definition: JSON.parse(String(r.definition)) as StackDefinition,
    source: String(r.source),
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
  };
}

export class SqliteStacks implements StackStore {
  constructor(private readonly db: Db) {}

  create(definition: StackDefinition, source: string, creator: string): Stack {
    try {
      const at = now();
      this.db
        .prepare('INSERT INTO stacks (name, creator, published, definition, source, created_at, updated_at) VALUES (?, ?, 0, ?, ?, ?, ?)')
        .run(definition.name, creator, JSON.stringify(definition), source, at, at);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`stack '${definition.name}' already exists; change it with stacks:update`);
      throw err;
    }
    return this.find(definition.name) as Stack;
  }

  update(definition: StackDefinition, source: string): void {
    this.db
      .prepare('UPDATE stacks SET definition = ?, source = ?, updated_at = ? WHERE name = ?')
      .run(JSON.stringify(definition), source, now(), definition.name);
  }

  find(name: string): Stack | undefined {
    const r = this.db.prepare('SELECT * FROM stacks WHERE name = ?').get(name) as Row | undefined;
    return r && toStack(r);
  }

  list(): Stack[] {
    return (this.db.prepare('SELECT * FROM stacks ORDER BY name').all() as Row[]).map(toStack);
  }

  setPublished(name: string, published: boolean): void {
    this.db.prepare('UPDATE stacks SET published = ?, updated_at = ? WHERE name = ?').run(published ? 1 : 0, now(), name);
  }

  remove(name: string): void {
    this.db.prepare('DELETE FROM stacks WHERE name = ?').run(name);
  }
}
