import type { SecretBox } from '../secret-box.js';
import type { ConfigGroupStore } from '../store.js';
import type { ConfigGroup } from '../../domain/entities.js';
import { type Row, type Db, now, insertOwned, SealedVars } from './db.js';

export class SqliteConfigGroups implements ConfigGroupStore {
  private readonly sealed: SealedVars;

  constructor(
    private readonly db: Db,
    box: SecretBox,
  ) {
    this.sealed = new SealedVars(db, box, 'config_group_vars', 'grp');
  }

  create(name: string, owner: string): ConfigGroup {
    insertOwned(this.db, 'config_groups', name, owner, 'config group');
    return this.find(name) as ConfigGroup;
  }

  find(name: string): ConfigGroup | undefined {
    const r = this.db.prepare('SELECT * FROM config_groups WHERE name = ?').get(name) as Row | undefined;
    if (!r) return undefined;
    const apps = this.db.prepare('SELECT app FROM config_group_apps WHERE grp = ? ORDER BY added_at, app').all(name) as Row[];
    return { name: String(r.name), owner: String(r.owner), createdAt: String(r.created_at), apps: apps.map((a) => String(a.app)) };
  }

  list(): ConfigGroup[] {
    return (this.db.prepare('SELECT name FROM config_groups ORDER BY name').all() as Row[]).map((r) => this.find(String(r.name)) as ConfigGroup);
  }

  remove(name: string): void {
    this.db
      .transaction(() => {
        for (const table of ['config_group_apps', 'config_group_vars', 'config_groups']) {
          this.db.prepare(`DELETE FROM ${table} WHERE ${table === 'config_groups' ? 'name' : 'grp'} = ?`).run(name);
        }
      })
      .immediate();
  }

  vars(name: string): Record<string, string> {
    return this.sealed.get(name);
  }

  update(name: string, set: Record<string, string>, unset: readonly string[]): void {
    this.sealed.update(name, set, unset);
  }

  addApp(name: string, app: string): void {
    this.db.prepare('INSERT INTO config_group_apps (grp, app, added_at) VALUES (?, ?, ?) ON CONFLICT (grp, app) DO NOTHING').run(name, app, now());
  }

  removeApp(name: string, app: string): boolean {
    return this.db.prepare('DELETE FROM config_group_apps WHERE grp = ? AND app = ?').run(name, app).changes > 0;
  }

  groupsOf(app: string): string[] {
    return (this.db.prepare('SELECT grp FROM config_group_apps WHERE app = ? ORDER BY added_at, grp').all(app) as Row[]).map((r) => String(r.grp));
  }
}
