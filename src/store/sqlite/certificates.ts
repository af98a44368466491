import type { SecretBox } from '../secret-box.js';
import type { CertificateStore } from '../store.js';
import type { CustomCertificate } from '../../domain/entities.js';
import { type Row, type Db, now } from './db.js';

function toCertificate(r: Row): CustomCertificate {
  return {
    fingerprint: String(r.fingerprint),
    names: JSON.parse(String(r.names)) as string[],
    issuer: String(r.issuer),
    notAfter: String(r.not_after),
    addedAt: String(r.added_at),
    addedBy: String(r.added_by),
  };
}

export class SqliteCertificates implements CertificateStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  add(app: string, cert: Omit<CustomCertificate, 'addedAt'> & { chain: string; key: string }): CustomCertificate[] {
    return this.db
      .transaction(() => {
        const replaced = this.list(app).filter((c) => c.fingerprint === cert.fingerprint || c.names.some((n) => cert.names.includes(n)));
        for (const c of replaced) this.remove(app, c.fingerprint);
        this.db
          .prepare('INSERT INTO certificates (app, fingerprint, names, chain, key, issuer, not_after, added_at, added_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
          .run(app, cert.fingerprint, JSON.stringify(cert.names), cert.chain, this.box.seal(cert.key), cert.issuer, cert.notAfter, now(), cert.addedBy);
        return replaced;
      })
      .immediate();
  }

  list(app: string): CustomCertificate[] {
    return (this.db.prepare('SELECT * FROM certificates WHERE app = ? ORDER BY added_at').all(app) as Row[]).map(toCertificate);
  }

  remove(app: string, fingerprint: string): boolean {
    return this.db.prepare('DELETE FROM certificates WHERE app = ? AND fingerprint = ?').run(app, fingerprint).changes > 0;
  }

  all(): { app: string; names: string[]; chain: string; key: string }[] {
    return (this.db.prepare('SELECT app, names, chain, key FROM certificates ORDER BY app, added_at').all() as Row[]).map((r) => ({
      app: String(r.app),
      names: JSON.parse(String(r.names)) as string[],
      chain: String(r.chain),
      key: this.box.open(String(r.key)),
    }));
  }
}
