import type { SecretBox } from '../secret-box.js';
import type { ConfigStore } from '../store.js';
import { type Db, SealedVars } from './db.js';

export class SqliteConfig implements ConfigStore {
  private readonly vars: SealedVars;

  constructor(db: Db, box: SecretBox) {
    this.vars = new SealedVars(db, box, 'config_vars', 'app');
  }

  get(app: string): Record<string, string> {
    return this.vars.get(app);
  }

  update(app: string, set: Record<string, string>, unset: readonly string[]): void {
    this.vars.update(app, set, unset);
  }
}
