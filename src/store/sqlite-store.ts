import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';
import type { SecretBox } from './secret-box.js';
import type {
  BackingServiceStore,
  BackupStore,
  CronStore,
  PipelineStore,
  ConfigGroupStore,
  CertificateStore,
  MountStore,
  AppStore,
  BuildStore,
  KeyStore,
  LockStore,
  ReleaseStore,
  Store,
  ConfigStore,
  DomainStore,
  FormationStore,
  RouteStore,
  AccessStore,
  EventStore,
  WebhookStore,
  TokenStore,
  StackStore,
} from './store.js';
import { type Db, now } from './sqlite/db.js';
import { SqliteApps } from './sqlite/apps.js';
import { SqliteKeys } from './sqlite/keys.js';
import { SqliteBuilds } from './sqlite/builds.js';
import { SqliteReleases } from './sqlite/releases.js';
import { SqliteConfigGroups } from './sqlite/config-groups.js';
import { SqlitePipelines } from './sqlite/pipelines.js';
import { SqliteCron } from './sqlite/cron.js';
import { SqliteConfig } from './sqlite/config.js';
import { SqliteFormation } from './sqlite/formation.js';
import { SqliteMounts } from './sqlite/mounts.js';
import { SqliteCertificates } from './sqlite/certificates.js';
import { SqliteDomains } from './sqlite/domains.js';
import { SqliteRoutes } from './sqlite/routes.js';
import { SqliteAccess } from './sqlite/access.js';
import { SqliteEvents } from './sqlite/events.js';
import { SqliteWebhooks } from './sqlite/webhooks.js';
import { SqliteTokens } from './sqlite/tokens.js';
import { SqliteLocks } from './sqlite/locks.js';
import { SqliteStacks } from './sqlite/stacks.js';
import { SqliteBackingServices, SqliteBackups } from './sqlite/backing-services.js';

/** Opens (creating when needed) the database at file, or ':memory:', and brings its schema up to date. */
export function openStore(file: string, box: SecretBox): Store {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // Pushes run in hook processes beside the server: writers wait for each other rather than fail.
  db.pragma('busy_timeout = 10000');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return new SqliteStore(db, box);
}

function migrate(db: Db): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
  for (const m of MIGRATIONS) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(m.version, now());
    }).immediate();
  }
}

class SqliteStore implements Store {
  readonly apps: AppStore;
  readonly keys: KeyStore;
  readonly builds: BuildStore;
  readonly releases: ReleaseStore;
  readonly locks: LockStore;
  readonly config: ConfigStore;
  readonly formation: FormationStore;
  readonly mounts: MountStore;
  readonly domains: DomainStore;
  readonly routes: RouteStore;
  readonly access: AccessStore;
  readonly events: EventStore;
  readonly webhooks: WebhookStore;
  readonly tokens: TokenStore;
  readonly stacks: StackStore;
  readonly cron: CronStore;
  readonly pipelines: PipelineStore;
  readonly configGroups: ConfigGroupStore;
  readonly certificates: CertificateStore;
  readonly backingServices: BackingServiceStore;
  readonly backups: BackupStore;

  constructor(
    private readonly db: Db,
    box: SecretBox,
  ) {
    this.events = new SqliteEvents(db);
    this.webhooks = new SqliteWebhooks(db);
    this.tokens = new SqliteTokens(db);
    this.stacks = new SqliteStacks(db);
    this.access = new SqliteAccess(db);
    this.routes = new SqliteRoutes(db);
    this.config = new SqliteConfig(db, box);
    this.formation = new SqliteFormation(db);
    this.mounts = new SqliteMounts(db);
    this.domains = new SqliteDomains(db);
    this.apps = new SqliteApps(db);
    this.keys = new SqliteKeys(db);
    this.builds = new SqliteBuilds(db);
    this.releases = new SqliteReleases(db, box);
    this.locks = new SqliteLocks(db);
    this.cron = new SqliteCron(db);
    this.pipelines = new SqlitePipelines(db);
    this.configGroups = new SqliteConfigGroups(db, box);
    this.certificates = new SqliteCertificates(db, box);
    this.backingServices = new SqliteBackingServices(db, box);
    this.backups = new SqliteBackups(db);
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  integrityCheck(): string {
    return String(this.db.pragma('integrity_check', { simple: true }));
  }

  close(): void {
    this.db.close();
  }
}
