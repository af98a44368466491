import { ConflictError } from '../../errors.js';
import type { Backup, BackingService, BackupSchedule, ServiceKind, ServiceLink } from '../../domain/backing-service.js';
import type { SecretBox } from '../secret-box.js';
import type { BackingServiceStore, BackupStore } from '../store.js';
import { type Db, type Row, isUniqueViolation, now } from './db.js';

function toService(r: Row): BackingService {
  return {
    id: String(r.id),
    name: String(r.name),
    kind: String(r.kind) as ServiceKind,
    version: String(r.version),
    image: String(r.image),
    owner: String(r.owner),
    createdAt: String(r.created_at),
    schedule:
      r.backup_schedule === null || r.backup_schedule === undefined
        ? null
        : { cron: String(r.backup_schedule), keep: Number(r.backup_keep), since: String(r.backup_schedule_since) },
  };
}

const LINK_COLUMNS = 'l.service_id, s.name AS service, l.app, l.variable, l.linked_by, l.created_at';

function toLink(r: Row): ServiceLink {
  return {
    serviceId: String(r.service_id),
    service: String(r.service),
    app: String(r.app),
    variable: String(r.variable),
    linkedBy: String(r.linked_by),
    createdAt: String(r.created_at),
  };
}

/** Services with their passwords sealed like config values, and their links to apps. */
export class SqliteBackingServices implements BackingServiceStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  create(service: Omit<BackingService, 'createdAt' | 'schedule'>, password: string, ownerLimit: number): BackingService {
    return this.db
      .transaction(() => {
        // Counted in the creation's transaction: two creations at once cannot both take the last place.
        if (ownerLimit > 0) {
          const { n } = this.db.prepare('SELECT count(*) AS n FROM backing_services WHERE owner = ?').get(service.owner) as { n: number };
          if (n >= ownerLimit)
            throw new ConflictError(
              `you have ${n} services, the most SKIFF_MAX_SERVICES_PER_USER allows here; destroy one first, or ask an admin to raise the limit`,
            );
        }
        const createdAt = now();
        try {
          this.db
            .prepare('INSERT INTO backing_services (id, name, kind, version, image, password, owner, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
            .run(service.id, service.name, service.kind, service.version, service.image, this.box.seal(password), service.owner, createdAt);
        } catch (err) {
          if (isUniqueViolation(err)) throw new ConflictError(`service ${service.name} exists already`);
          throw err;
        }
        return { ...service, createdAt, schedule: null };
      })
      .immediate();
  }

  setSchedule(id: string, schedule: BackupSchedule | null): void {
    this.db
      .prepare('UPDATE backing_services SET backup_schedule = ?, backup_keep = ?, backup_schedule_since = ? WHERE id = ?')
      .run(schedule?.cron ?? null, schedule?.keep ?? null, schedule?.since ?? null, id);
  }

  find(name: string): BackingService | undefined {
    const r = this.db.prepare('SELECT * FROM backing_services WHERE name = ?').get(name) as Row | undefined;
    return r ? toService(r) : undefined;
  }

  list(): BackingService[] {
    return (this.db.prepare('SELECT * FROM backing_services ORDER BY name').all() as Row[]).map(toService);
  }

  password(id: string): string {
    const r = this.db.prepare('SELECT password FROM backing_services WHERE id = ?').get(id) as Row | undefined;
    if (!r) throw new Error(`no service with id ${id}`);
    return this.box.open(String(r.password));
  }

  remove(id: string): void {
    this.db
      .transaction(() => {
        const { n } = this.db.prepare('SELECT count(*) AS n FROM service_links WHERE service_id = ?').get(id) as { n: number };
        if (n > 0) throw new ConflictError('the service is linked to an app');
        this.db.prepare('DELETE FROM backups WHERE service_id = ?').run(id);
        this.db.prepare('DELETE FROM service_access WHERE service_id = ?').run(id);
        this.db.prepare('DELETE FROM backing_services WHERE id = ?').run(id);
      })
      .immediate();
  }

  link(link: Omit<ServiceLink, 'createdAt' | 'service'>): ServiceLink {
    return this.db
      .transaction(() => {
        const service = this.db.prepare('SELECT name FROM backing_services WHERE id = ?').get(link.serviceId) as Row | undefined;
        if (!service) throw new ConflictError('the service was destroyed meanwhile');
        const same = this.db
          .prepare(
            `SELECT ${LINK_COLUMNS} FROM service_links l JOIN backing_services s ON s.id = l.service_id WHERE l.app = ? AND (l.service_id = ? OR l.variable = ?)`,
          )
          .get(link.app, link.serviceId, link.variable) as Row | undefined;
        if (same)
          throw new ConflictError(
            same.service_id === link.serviceId
              ? `${String(same.service)} is linked to ${link.app} already, as ${String(same.variable)}`
              : `${link.app} has ${link.variable} from ${String(same.service)} already; link with --as ANOTHER_VAR`,
          );
        const createdAt = now();
        this.db
          .prepare('INSERT INTO service_links (service_id, app, variable, linked_by, created_at) VALUES (?, ?, ?, ?, ?)')
          .run(link.serviceId, link.app, link.variable, link.linkedBy, createdAt);
        return { ...link, service: String(service.name), createdAt };
      })
      .immediate();
  }

  unlink(serviceId: string, app: string): boolean {
    return this.db.prepare('DELETE FROM service_links WHERE service_id = ? AND app = ?').run(serviceId, app).changes > 0;
  }

  unlinkApp(app: string): void {
    this.db.prepare('DELETE FROM service_links WHERE app = ?').run(app);
  }

  grant(serviceId: string, user: string, by: string): boolean {
    return this.db.prepare('INSERT OR IGNORE INTO service_access (service_id, user, granted_by) VALUES (?, ?, ?)').run(serviceId, user, by).changes > 0;
  }

  revoke(serviceId: string, user: string): boolean {
    return this.db.prepare('DELETE FROM service_access WHERE service_id = ? AND user = ?').run(serviceId, user).changes > 0;
  }

  users(serviceId: string): string[] {
    return (this.db.prepare('SELECT user FROM service_access WHERE service_id = ? ORDER BY user').all(serviceId) as Row[]).map((r) => String(r.user));
  }

  links(filter: { serviceId?: string; app?: string }): ServiceLink[] {
    const where: string[] = [];
    const args: string[] = [];
    if (filter.serviceId !== undefined) {
      where.push('l.service_id = ?');
      args.push(filter.serviceId);
    }
    if (filter.app !== undefined) {
      where.push('l.app = ?');
      args.push(filter.app);
    }
    const sql = `SELECT ${LINK_COLUMNS} FROM service_links l JOIN backing_services s ON s.id = l.service_id ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY l.app, l.variable`;
    return (this.db.prepare(sql).all(...args) as Row[]).map(toLink);
  }
}

function toBackup(r: Row): Backup {
  return {
    id: Number(r.id),
    serviceId: String(r.service_id),
    service: String(r.service),
    status: String(r.status) as Backup['status'],
    trigger: String(r.trigger),
    startedAt: String(r.started_at),
    finishedAt: r.finished_at === null ? null : String(r.finished_at),
    bytes: r.bytes === null ? null : Number(r.bytes),
    counts: r.counts === null ? null : (JSON.parse(String(r.counts)) as Record<string, number>),
    error: r.error === null ? null : String(r.error),
  };
}

export class SqliteBackups implements BackupStore {
  constructor(private readonly db: Db) {}

  start(backup: Pick<Backup, 'serviceId' | 'service' | 'trigger'>): Backup {
    const startedAt = now();
    const id = Number(
      this.db
        .prepare("INSERT INTO backups (service_id, service, status, trigger, started_at) VALUES (?, ?, 'running', ?, ?)")
        .run(backup.serviceId, backup.service, backup.trigger, startedAt).lastInsertRowid,
    );
    return this.find(backup.serviceId, id) as Backup;
  }

  finish(id: number, outcome: Pick<Backup, 'status' | 'bytes' | 'counts' | 'error'>): void {
    this.db
      .prepare('UPDATE backups SET status = ?, bytes = ?, counts = ?, error = ?, finished_at = ? WHERE id = ?')
      .run(outcome.status, outcome.bytes, outcome.counts === null ? null : JSON.stringify(outcome.counts), outcome.error, now(), id);
  }

  find(serviceId: string, id: number): Backup | undefined {
    const r = this.db.prepare('SELECT * FROM backups WHERE service_id = ? AND id = ?').get(serviceId, id) as Row | undefined;
    return r ? toBackup(r) : undefined;
  }

  list(serviceId: string): Backup[] {
    return (this.db.prepare('SELECT * FROM backups WHERE service_id = ? ORDER BY id DESC').all(serviceId) as Row[]).map(toBackup);
  }

  remove(serviceId: string, id: number): void {
    this.db.prepare('DELETE FROM backups WHERE service_id = ? AND id = ?').run(serviceId, id);
  }

  recordForRelease(app: string, version: number, serviceId: string, backupId: number): void {
    this.db.prepare('INSERT OR REPLACE INTO release_backups (app, version, service_id, backup_id) VALUES (?, ?, ?, ?)').run(app, version, serviceId, backupId);
  }

  forRelease(app: string, version: number): { serviceId: string; backupId: number }[] {
    return (
      this.db.prepare('SELECT service_id, backup_id FROM release_backups WHERE app = ? AND version = ? ORDER BY service_id').all(app, version) as Row[]
    ).map((r) => ({ serviceId: String(r.service_id), backupId: Number(r.backup_id) }));
  }

  forgetApp(app: string): void {
    this.db.prepare('DELETE FROM release_backups WHERE app = ?').run(app);
  }

  failAbandoned(): Backup[] {
    const rows = this.db.prepare("SELECT * FROM backups WHERE status = 'running'").all() as Row[];
    this.db.prepare("UPDATE backups SET status = 'bad', error = 'the server stopped while it ran', finished_at = ? WHERE status = 'running'").run(now());
    return rows.map(toBackup);
  }
}
