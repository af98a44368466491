import { NO_SCRIPTS } from '../../src/domain/app-json.js';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/store/secret-box.js';
import { openStore } from '../../src/store/sqlite-store.js';
import { tempDir } from '../helpers/skiff.js';

describe('SecretBox', () => {
  it('makes its key once, readable by its owner only, and keeps it', () => {
    const file = path.join(tempDir('box'), 'secret.key');
    const box = SecretBox.load(file);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const sealed = box.seal('hunter2');
    expect(SecretBox.load(file).open(sealed)).toBe('hunter2');
  });

  it('seals each value differently, refuses tampering and other keys, and reads old plain values', () => {
    const box = SecretBox.ephemeral();
    const a = box.seal('same');
    expect(box.seal('same')).not.toBe(a);
    expect(a).toMatch(/^enc1:/);
    expect(box.open(a)).toBe('same');
    const tampered = `${a.slice(0, -4)}AAAA`;
    expect(() => box.open(tampered)).toThrow();
    expect(() => SecretBox.ephemeral().open(a)).toThrow();
    expect(box.open('written before encryption')).toBe('written before encryption');
  });

  it('keeps config values and release snapshots encrypted in the database', () => {
    const dir = tempDir('db');
    const file = path.join(dir, 'skiff.db');
    const store = openStore(file, SecretBox.load(path.join(dir, 'secret.key')));
    store.apps.create('shop', 'alice');
    store.config.update('shop', { TOKEN: 'hunter2 sesame' }, []);
    store.releases.create(
      {
        app: 'shop',
        commit: 'c',
        buildId: null,
        pusher: 'a',
        description: 'd',
        config: { TOKEN: 'hunter2 sesame' },
        processes: { web: null },
        healthcheck: null,
        port: null,
        cron: [],
        scripts: NO_SCRIPTS,
        environments: {},
      },
      () => 'img',
    );
    expect(store.config.get('shop')).toEqual({ TOKEN: 'hunter2 sesame' });
    expect(store.releases.find('shop', 1)?.config).toEqual({ TOKEN: 'hunter2 sesame' });
    store.close();
    const raw = new Database(file, { readonly: true });
    const dump = JSON.stringify([raw.prepare('SELECT * FROM config_vars').all(), raw.prepare('SELECT * FROM releases').all()]);
    raw.close();
    expect(dump).toContain('TOKEN');
    expect(dump).not.toContain('hunter2');
  });
});
