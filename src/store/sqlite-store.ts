import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ConflictError } from '../errors.js';
import { MIGRATIONS } from './migrations.js';
import type { SecretBox } from './secret-box.js';
import type {
  CronJobState,
  CronRun,
  CronRunStatus,
  CronStore,
  CronTrigger,
  Pipeline,
  PipelineStore,
  ConfigGroup,
  ConfigGroupStore,
  CertificateStore,
  CustomCertificate,
  App,
  Hold,
  Mount,
  MountStore,
  AppStore,
  Build,
  BuildStatus,
  BuildStore,
  Key,
  KeyStore,
  LockHolder,
  LockStore,
  Release,
  ReleaseStatus,
  ReleaseStore,
  Store,
  ConfigStore,
  DomainStore,
  FormationStore,
  RouteStore,
  AccessStore,
  AuditEvent,
  EventStore,
  Webhook,
  WebhookStore,
  Token,
  TokenStore,
  Stack,
  StackStore,
} from './store.js';
import type { StackDefinition } from '../domain/stackfile.js';
import type { FormationEntry } from '../domain/formation.js';
import type { Processes } from '../domain/procfile.js';
import type { CronJob } from '../domain/cron.js';
import type { Maintenance } from '../domain/maintenance.js';
import { STAGES, type Overlays, type Stage } from '../domain/pipeline.js';
import { NO_SCRIPTS, type ReleaseScripts } from '../domain/app-json.js';

/** A row as better-sqlite3 gives it: each column a SQLite value. */
type Row = Record<string, string | number | bigint | Buffer | null>;
type Db = Database.Database;

const now = (): string => new Date().toISOString();

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

function toApp(r: Row): App {
  return {
    id: String(r.id),
    name: String(r.name),
    createdAt: String(r.created_at),
    createdBy: String(r.created_by),
    currentRelease: r.current_release === null ? null : Number(r.current_release),
    stopped: Number(r.stopped) === 1,
    stack: r.stack === null || r.stack === undefined ? null : String(r.stack),
    runtime: r.runtime === null || r.runtime === undefined ? null : String(r.runtime),
    reviewApps: r.review_apps === null || r.review_apps === undefined ? null : Number(r.review_apps),
    maintenance: r.maintenance === null || r.maintenance === undefined ? null : (JSON.parse(String(r.maintenance)) as Maintenance),
    reviewOf: r.review_parent === null || r.review_parent === undefined ? null : { parent: String(r.review_parent), branch: String(r.review_branch) },
  };
}

/** An app's identity: random, never given twice, fixed at creation. */
function newAppId(): string {
  return crypto.randomBytes(8).toString('hex');
}

class SqliteApps implements AppStore {
  constructor(private readonly db: Db) {}

  create(name: string, createdBy: string, stack: string | null = null): App {
    try {
      this.db.prepare('INSERT INTO apps (id, name, created_at, created_by, stack) VALUES (?, ?, ?, ?, ?)').run(newAppId(), name, now(), createdBy, stack);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`app '${name}' already exists`);
      throw err;
    }
    return this.find(name) as App;
  }

  find(name: string): App | undefined {
    const r = this.db.prepare('SELECT * FROM apps WHERE name = ?').get(name) as Row | undefined;
    return r && toApp(r);
  }

  list(): App[] {
    return (this.db.prepare('SELECT * FROM apps ORDER BY name').all() as Row[]).map(toApp);
  }

  setCurrentRelease(name: string, version: number | null): void {
    this.db.prepare('UPDATE apps SET current_release = ? WHERE name = ?').run(version, name);
  }

  setStopped(name: string, stopped: boolean): void {
    this.db.prepare('UPDATE apps SET stopped = ? WHERE name = ?').run(stopped ? 1 : 0, name);
  }

  setStack(name: string, stack: string | null): void {
    this.db.prepare('UPDATE apps SET stack = ? WHERE name = ?').run(stack, name);
  }

  setRuntime(name: string, runtime: string | null): void {
    this.db.prepare('UPDATE apps SET runtime = ? WHERE name = ?').run(runtime, name);
  }

  setMaintenance(name: string, maintenance: Maintenance | null): void {
    this.db.prepare('UPDATE apps SET maintenance = ? WHERE name = ?').run(maintenance === null ? null : JSON.stringify(maintenance), name);
  }

  setReviewApps(name: string, max: number | null): void {
    this.db.prepare('UPDATE apps SET review_apps = ? WHERE name = ?').run(max, name);
  }

  createReview(name: string, parent: string, branch: string, owner: string): App {
    try {
      this.db
        .prepare('INSERT INTO apps (id, name, created_at, created_by, review_parent, review_branch) VALUES (?, ?, ?, ?, ?, ?)')
        .run(newAppId(), name, now(), owner, parent, branch);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`app '${name}' already exists`);
      throw err;
    }
    return this.find(name) as App;
  }

  reviewAppsOf(parent: string): App[] {
    return (this.db.prepare('SELECT * FROM apps WHERE review_parent = ? ORDER BY name').all(parent) as Row[]).map(toApp);
  }

  usingStack(stack: string): string[] {
    return (this.db.prepare('SELECT name FROM apps WHERE stack = ? ORDER BY name').all(stack) as { name: string }[]).map((r) => r.name);
  }

  remove(name: string): void {
    this.db
      .transaction(() => {
        for (const table of [
          'releases',
          'builds',
          'locks',
          'config_vars',
          'formation',
          'mounts',
          'domains',
          'routes',
          'access',
          'webhooks',
          'cron_runs',
          'cron_jobs',
          'pipeline_apps',
          'config_group_apps',
          'certificates',
        ]) {
          this.db.prepare(`DELETE FROM ${table} WHERE app = ?`).run(name);
        }
        this.db.prepare('DELETE FROM apps WHERE name = ?').run(name);
      })
      .immediate();
  }
}

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

class SqliteKeys implements KeyStore {
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

function toBuild(r: Row): Build {
  return {
    id: Number(r.id),
    app: String(r.app),
    commit: String(r.commit_sha),
    ref: String(r.ref),
    status: String(r.status) as BuildStatus,
    pusher: String(r.pusher),
    pid: Number(r.pid),
    startedAt: String(r.started_at),
    finishedAt: r.finished_at === null ? null : String(r.finished_at),
    logPath: String(r.log_path),
    error: r.error === null ? null : String(r.error),
  };
}

class SqliteBuilds implements BuildStore {
  constructor(private readonly db: Db) {}

  start(b: Pick<Build, 'app' | 'commit' | 'ref' | 'pusher' | 'pid'>, logPathFor: (id: number) => string): Build {
    return this.db
      .transaction(() => {
        const info = this.db
          .prepare(
            `INSERT INTO builds (app, commit_sha, ref, status, pusher, pid, started_at, log_path)
           VALUES (?, ?, ?, 'running', ?, ?, ?, '')`,
          )
          .run(b.app, b.commit, b.ref, b.pusher, b.pid, now());
        const id = Number(info.lastInsertRowid);
        this.db.prepare('UPDATE builds SET log_path = ? WHERE id = ?').run(logPathFor(id), id);
        return toBuild(this.db.prepare('SELECT * FROM builds WHERE id = ?').get(id) as Row);
      })
      .immediate();
  }

  finish(id: number, status: Exclude<BuildStatus, 'running'>, error?: string): void {
    this.db.prepare('UPDATE builds SET status = ?, finished_at = ?, error = ? WHERE id = ?').run(status, now(), error ?? null, id);
  }

  find(app: string, id: number): Build | undefined {
    const r = this.db.prepare('SELECT * FROM builds WHERE app = ? AND id = ?').get(app, id) as Row | undefined;
    return r && toBuild(r);
  }

  latest(app: string): Build | undefined {
    const r = this.db.prepare('SELECT * FROM builds WHERE app = ? ORDER BY id DESC LIMIT 1').get(app) as Row | undefined;
    return r && toBuild(r);
  }

  list(app: string): Build[] {
    return (this.db.prepare('SELECT * FROM builds WHERE app = ? ORDER BY id DESC').all(app) as Row[]).map(toBuild);
  }

  running(): Build[] {
    return (this.db.prepare("SELECT * FROM builds WHERE status = 'running' ORDER BY id").all() as Row[]).map(toBuild);
  }

  failAbandoned(isAlive: (pid: number) => boolean): Build[] {
    return this.db
      .transaction(() => {
        const running = (this.db.prepare("SELECT * FROM builds WHERE status = 'running'").all() as Row[]).map(toBuild);
        const abandoned = running.filter((b) => !isAlive(b.pid));
        for (const b of abandoned) {
          this.finish(b.id, 'failed', 'interrupted: the build process ended before the build did');
        }
        return abandoned;
      })
      .immediate();
  }
}

function toRelease(r: Row, box: SecretBox): Release {
  return {
    app: String(r.app),
    version: Number(r.version),
    image: String(r.image),
    commit: String(r.commit_sha),
    buildId: r.build_id === null ? null : Number(r.build_id),
    pusher: String(r.pusher),
    description: String(r.description),
    status: String(r.status) as ReleaseStatus,
    createdAt: String(r.created_at),
    config: JSON.parse(box.open(String(r.config))) as Record<string, string>,
    processes: JSON.parse(String(r.processes)) as Processes,
    healthcheck: r.healthcheck === null || r.healthcheck === undefined ? null : String(r.healthcheck),
    port: r.port === null || r.port === undefined ? null : Number(r.port),
    cron: r.cron === null || r.cron === undefined ? [] : (JSON.parse(String(r.cron)) as CronJob[]),
    environments: r.environments === null || r.environments === undefined ? {} : (JSON.parse(String(r.environments)) as Overlays),
    scripts:
      r.scripts === null || r.scripts === undefined ? { ...NO_SCRIPTS } : { ...NO_SCRIPTS, ...(JSON.parse(String(r.scripts)) as Partial<ReleaseScripts>) },
  };
}

class SqliteReleases implements ReleaseStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  create(r: Omit<Release, 'version' | 'status' | 'createdAt' | 'image'>, imageFor: (version: number) => string): Release {
    return this.db
      .transaction(() => {
        const { next } = this.db.prepare('SELECT COALESCE(MAX(version), 0) + 1 AS next FROM releases WHERE app = ?').get(r.app) as { next: number };
        this.db
          .prepare(
            `INSERT INTO releases (app, version, image, commit_sha, build_id, pusher, description, status, created_at, config, processes, healthcheck, port, cron, scripts, environments)
           VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            r.app,
            next,
            imageFor(next),
            r.commit,
            r.buildId,
            r.pusher,
            r.description,
            now(),
            this.box.seal(JSON.stringify(r.config)),
            JSON.stringify(r.processes),
            r.healthcheck,
            r.port,
            r.cron.length ? JSON.stringify(r.cron) : null,
            Object.values(r.scripts).some((v) => v !== null) ? JSON.stringify(r.scripts) : null,
            Object.keys(r.environments).length ? JSON.stringify(r.environments) : null,
          );
        return this.find(r.app, next) as Release;
      })
      .immediate();
  }

  setStatus(app: string, version: number, status: ReleaseStatus): void {
    this.db.prepare('UPDATE releases SET status = ? WHERE app = ? AND version = ?').run(status, app, version);
  }

  find(app: string, version: number): Release | undefined {
    const r = this.db.prepare('SELECT * FROM releases WHERE app = ? AND version = ?').get(app, version) as Row | undefined;
    return r && toRelease(r, this.box);
  }

  current(app: string): Release | undefined {
    const r = this.db.prepare('SELECT r.* FROM releases r JOIN apps a ON a.name = r.app AND a.current_release = r.version WHERE a.name = ?').get(app) as
      Row | undefined;
    return r && toRelease(r, this.box);
  }

  list(app: string): Release[] {
    return (this.db.prepare('SELECT * FROM releases WHERE app = ? ORDER BY version DESC').all(app) as Row[]).map((r) => toRelease(r, this.box));
  }

  failAbandoned(app: string): void {
    this.db.prepare("UPDATE releases SET status = 'failed' WHERE app = ? AND status = 'pending'").run(app);
  }
}

/** Inserts a named thing a user owns (a pipeline, a config group); a name taken already is a conflict. */
function insertOwned(db: Db, table: 'pipelines' | 'config_groups', name: string, owner: string, what: string): void {
  try {
    db.prepare(`INSERT INTO ${table} (name, owner, created_at) VALUES (?, ?, ?)`).run(name, owner, now());
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(`${what} ${name} exists already`);
    throw err;
  }
}

class SqliteConfigGroups implements ConfigGroupStore {
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

class SqlitePipelines implements PipelineStore {
  constructor(private readonly db: Db) {}

  create(name: string, owner: string): Pipeline {
    insertOwned(this.db, 'pipelines', name, owner, 'pipeline');
    return this.find(name) as Pipeline;
  }

  find(name: string): Pipeline | undefined {
    const r = this.db.prepare('SELECT * FROM pipelines WHERE name = ?').get(name) as Row | undefined;
    if (!r) return undefined;
    const apps = this.db.prepare('SELECT app, stage FROM pipeline_apps WHERE pipeline = ? ORDER BY added_at, app').all(name) as Row[];
    const order = (s: string): number => STAGES.indexOf(s as Stage);
    return {
      name: String(r.name),
      owner: String(r.owner),
      createdAt: String(r.created_at),
      apps: apps.map((a) => ({ app: String(a.app), stage: String(a.stage) as Stage })).sort((a, b) => order(a.stage) - order(b.stage)),
    };
  }

  list(): Pipeline[] {
    return (this.db.prepare('SELECT name FROM pipelines ORDER BY name').all() as Row[]).map((r) => this.find(String(r.name)) as Pipeline);
  }

  remove(name: string): void {
    this.db
      .transaction(() => {
        this.db.prepare('DELETE FROM pipeline_apps WHERE pipeline = ?').run(name);
        this.db.prepare('DELETE FROM pipelines WHERE name = ?').run(name);
      })
      .immediate();
  }

  addApp(pipeline: string, app: string, stage: Stage): void {
    const other = this.ofApp(app);
    if (other && other.pipeline !== pipeline)
      throw new ConflictError(`${app} is in pipeline ${other.pipeline} already; pipelines:remove ${other.pipeline} ${app} first`);
    this.db
      .prepare('INSERT INTO pipeline_apps (app, pipeline, stage, added_at) VALUES (?, ?, ?, ?) ON CONFLICT (app) DO UPDATE SET stage = excluded.stage')
      .run(app, pipeline, stage, now());
  }

  removeApp(app: string): boolean {
    return this.db.prepare('DELETE FROM pipeline_apps WHERE app = ?').run(app).changes > 0;
  }

  ofApp(app: string): { pipeline: string; stage: Stage } | undefined {
    const r = this.db.prepare('SELECT pipeline, stage FROM pipeline_apps WHERE app = ?').get(app) as Row | undefined;
    return r && { pipeline: String(r.pipeline), stage: String(r.stage) as Stage };
  }
}

/** Runs of one job kept in the history; older ones go as new ones start. */
const KEEP_CRON_RUNS = 100;

function toCronRun(r: Row): CronRun {
  return {
    id: Number(r.id),
    app: String(r.app),
    job: String(r.job),
    release: Number(r.release),
    trigger: String(r.trigger) as CronTrigger,
    dueAt: r.due_at === null ? null : String(r.due_at),
    startedAt: String(r.started_at),
    finishedAt: r.finished_at === null ? null : String(r.finished_at),
    status: String(r.status) as CronRunStatus,
    exitCode: r.exit_code === null ? null : Number(r.exit_code),
    output: String(r.output),
    pid: Number(r.pid),
  };
}

class SqliteCron implements CronStore {
  constructor(private readonly db: Db) {}

  start(run: Pick<CronRun, 'app' | 'job' | 'release' | 'trigger' | 'dueAt' | 'pid'>): CronRun {
    return this.db
      .transaction(() => {
        const info = this.db
          .prepare(`INSERT INTO cron_runs (app, job, release, trigger, due_at, started_at, status, pid) VALUES (?, ?, ?, ?, ?, ?, 'running', ?)`)
          .run(run.app, run.job, run.release, run.trigger, run.dueAt, now(), run.pid);
        this.db
          .prepare(
            `DELETE FROM cron_runs WHERE app = ? AND job = ? AND status != 'running' AND id NOT IN (SELECT id FROM cron_runs WHERE app = ? AND job = ? ORDER BY id DESC LIMIT ?)`,
          )
          .run(run.app, run.job, run.app, run.job, KEEP_CRON_RUNS);
        return toCronRun(this.db.prepare('SELECT * FROM cron_runs WHERE id = ?').get(info.lastInsertRowid) as Row);
      })
      .immediate();
  }

  finish(id: number, status: Exclude<CronRunStatus, 'running'>, exitCode: number | null, output: string): void {
    this.db
      .prepare(`UPDATE cron_runs SET status = ?, exit_code = ?, output = ?, finished_at = ? WHERE id = ? AND status = 'running'`)
      .run(status, exitCode, output, now(), id);
    // A run replaced meanwhile keeps that status, with the output it had.
    this.db.prepare(`UPDATE cron_runs SET output = ?, exit_code = COALESCE(exit_code, ?) WHERE id = ? AND status = 'replaced'`).run(output, exitCode, id);
  }

  find(app: string, id: number): CronRun | undefined {
    const r = this.db.prepare('SELECT * FROM cron_runs WHERE app = ? AND id = ?').get(app, id) as Row | undefined;
    return r && toCronRun(r);
  }

  runs(app: string, filter: { job?: string; limit: number }): CronRun[] {
    const rows =
      filter.job === undefined
        ? this.db.prepare('SELECT * FROM cron_runs WHERE app = ? ORDER BY id DESC LIMIT ?').all(app, filter.limit)
        : this.db.prepare('SELECT * FROM cron_runs WHERE app = ? AND job = ? ORDER BY id DESC LIMIT ?').all(app, filter.job, filter.limit);
    return (rows as Row[]).map(toCronRun);
  }

  running(app: string, job?: string): CronRun[] {
    const rows =
      job === undefined
        ? this.db.prepare(`SELECT * FROM cron_runs WHERE app = ? AND status = 'running' ORDER BY id`).all(app)
        : this.db.prepare(`SELECT * FROM cron_runs WHERE app = ? AND job = ? AND status = 'running' ORDER BY id`).all(app, job);
    return (rows as Row[]).map(toCronRun);
  }

  lastSuccess(app: string, job: string): CronRun | undefined {
    const r = this.db.prepare(`SELECT * FROM cron_runs WHERE app = ? AND job = ? AND status = 'succeeded' ORDER BY id DESC LIMIT 1`).get(app, job) as
      Row | undefined;
    return r && toCronRun(r);
  }

  failAbandoned(isAlive: (pid: number) => boolean): CronRun[] {
    return this.db
      .transaction(() => {
        const running = (this.db.prepare(`SELECT * FROM cron_runs WHERE status = 'running'`).all() as Row[]).map(toCronRun);
        const abandoned = running.filter((r) => !isAlive(r.pid));
        for (const r of abandoned) this.db.prepare(`UPDATE cron_runs SET status = 'interrupted', finished_at = ? WHERE id = ?`).run(now(), r.id);
        return abandoned;
      })
      .immediate();
  }

  state(app: string, job: string): CronJobState | undefined {
    const r = this.db.prepare('SELECT since, last_due FROM cron_jobs WHERE app = ? AND job = ?').get(app, job) as Row | undefined;
    return r && { since: String(r.since), lastDue: String(r.last_due) };
  }

  setState(app: string, job: string, lastDue: string): void {
    this.db
      .prepare('INSERT INTO cron_jobs (app, job, since, last_due) VALUES (?, ?, ?, ?) ON CONFLICT (app, job) DO UPDATE SET last_due = excluded.last_due')
      .run(app, job, now(), lastDue);
  }
}

/** Encrypted KEY=VALUE rows of one owner: an app's config (config_vars by app), a group's (config_group_vars by grp). */
class SealedVars {
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

class SqliteConfig implements ConfigStore {
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

class SqliteFormation implements FormationStore {
  constructor(private readonly db: Db) {}

  list(app: string): FormationEntry[] {
    const rows = this.db.prepare('SELECT * FROM formation WHERE app = ? ORDER BY process').all(app) as Row[];
    return rows.map((r) => ({
      process: String(r.process),
      quantity: r.quantity === null ? null : Number(r.quantity),
      memory: r.memory === null ? null : Number(r.memory),
      cpus: r.cpus === null ? null : Number(r.cpus),
    }));
  }

  setQuantities(app: string, counts: Record<string, number | null>): void {
    this.db
      .transaction(() => {
        const put = this.db.prepare(
          'INSERT INTO formation (app, process, quantity) VALUES (?, ?, ?) ON CONFLICT (app, process) DO UPDATE SET quantity = excluded.quantity',
        );
        for (const [process, n] of Object.entries(counts)) put.run(app, process, n);
      })
      .immediate();
  }

  setResources(app: string, process: string, limits: { memory?: number | null; cpus?: number | null }): void {
    this.db
      .transaction(() => {
        this.db.prepare('INSERT INTO formation (app, process) VALUES (?, ?) ON CONFLICT (app, process) DO NOTHING').run(app, process);
        if (limits.memory !== undefined) this.db.prepare('UPDATE formation SET memory = ? WHERE app = ? AND process = ?').run(limits.memory, app, process);
        if (limits.cpus !== undefined) this.db.prepare('UPDATE formation SET cpus = ? WHERE app = ? AND process = ?').run(limits.cpus, app, process);
      })
      .immediate();
  }
}

class SqliteMounts implements MountStore {
  constructor(private readonly db: Db) {}

  list(app: string): Mount[] {
    const rows = this.db.prepare('SELECT name, path, single_writer, from_app, shared_by, created_at FROM mounts WHERE app = ? ORDER BY name').all(app) as Row[];
    return rows.map(toMount);
  }

  sharesBy(user: string, app: string): (Mount & { app: string })[] {
    const rows = this.db
      .prepare(
        'SELECT app, name, path, single_writer, from_app, shared_by, created_at FROM mounts WHERE shared_by = ? AND (app = ? OR from_app = ?) ORDER BY app, name',
      )
      .all(user, app, app) as Row[];
    return rows.map((r) => ({ ...toMount(r), app: String(r.app) }));
  }

  add(app: string, name: string, path: string, options: { singleWriter?: boolean; from?: string | null; sharedBy?: string | null } = {}): Mount {
    return this.db
      .transaction(() => {
        const same = this.db.prepare('SELECT name, path FROM mounts WHERE app = ? AND (name = ? OR path = ?)').get(app, name, path) as Row | undefined;
        if (same)
          throw new ConflictError(
            same.name === name ? `${app} mounts ${name} already, at ${String(same.path)}` : `${app} mounts ${String(same.name)} at ${path} already`,
          );
        const createdAt = new Date().toISOString();
        const singleWriter = options.singleWriter === true;
        const from = options.from ?? null;
        const sharedBy = from === null ? null : (options.sharedBy ?? null);
        this.db
          .prepare('INSERT INTO mounts (app, name, path, single_writer, from_app, shared_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
          .run(app, name, path, singleWriter ? 1 : 0, from, sharedBy, createdAt);
        return { name, path, singleWriter, from, sharedBy, createdAt };
      })
      .immediate();
  }

  remove(app: string, name: string): boolean {
    return this.db.prepare('DELETE FROM mounts WHERE app = ? AND name = ?').run(app, name).changes > 0;
  }

  sharers(app: string, name?: string): string[] {
    const rows = this.db
      .prepare('SELECT DISTINCT app FROM mounts WHERE from_app = ? AND (? IS NULL OR name = ?) ORDER BY app')
      .all(app, name ?? null, name ?? null) as { app: string }[];
    return rows.map((r) => r.app);
  }
}

function toMount(r: Row): Mount {
  return {
    name: String(r.name),
    path: String(r.path),
    singleWriter: Number(r.single_writer) === 1,
    from: r.from_app === null ? null : String(r.from_app),
    sharedBy: r.shared_by === null || r.shared_by === undefined ? null : String(r.shared_by),
    createdAt: String(r.created_at),
  };
}

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

class SqliteCertificates implements CertificateStore {
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

class SqliteDomains implements DomainStore {
  constructor(private readonly db: Db) {}

  /**
   * A domain's subtree is its app's: a host under another app's domain is
   * refused, and so is a host over one (it would put that domain in this
   * app's subtree).
   */
  add(app: string, host: string): void {
    this.db
      .transaction(() => {
        const owner = this.db.prepare('SELECT app FROM domains WHERE host = ?').get(host) as { app: string } | undefined;
        if (owner) throw new ConflictError(owner.app === app ? `${host} is already a domain of ${app}` : `${host} belongs to another app`);
        const labels = host.split('.');
        const above = labels.slice(1, -1).map((_, i) => labels.slice(i + 1).join('.'));
        for (const parent of above) {
          const holder = this.db.prepare('SELECT app FROM domains WHERE host = ? AND app <> ?').get(parent, app) as { app: string } | undefined;
          if (holder) throw new ConflictError(`${host} is under ${parent}, a domain of another app; each domain's names belong to its app`);
        }
        const below = this.db.prepare("SELECT host FROM domains WHERE app <> ? AND substr(host, -length(?) - 1) = '.' || ?").get(app, host, host) as
          { host: string } | undefined;
        if (below) throw new ConflictError(`${below.host}, under ${host}, is a domain of another app; each domain's names belong to its app`);
        this.db.prepare('INSERT INTO domains (host, app, added_at) VALUES (?, ?, ?)').run(host, app, now());
      })
      .immediate();
  }

  addedSince(apps: readonly string[], since: string): number {
    if (apps.length === 0) return 0;
    const row = this.db.prepare(`SELECT count(*) AS n FROM domains WHERE added_at >= ? AND app IN (${apps.map(() => '?').join(', ')})`).get(since, ...apps) as {
      n: number;
    };
    return Number(row.n);
  }

  remove(app: string, host: string): boolean {
    return this.db.prepare('DELETE FROM domains WHERE app = ? AND host = ?').run(app, host).changes > 0;
  }

  list(app: string): string[] {
    return (this.db.prepare('SELECT host FROM domains WHERE app = ? ORDER BY host').all(app) as { host: string }[]).map((r) => r.host);
  }

  owner(host: string): string | undefined {
    return (this.db.prepare('SELECT app FROM domains WHERE host = ?').get(host) as { app: string } | undefined)?.app;
  }
}

class SqliteRoutes implements RouteStore {
  constructor(private readonly db: Db) {}

  set(app: string, upstreams: readonly string[]): void {
    this.db
      .prepare('INSERT INTO routes (app, upstreams) VALUES (?, ?) ON CONFLICT (app) DO UPDATE SET upstreams = excluded.upstreams')
      .run(app, JSON.stringify(upstreams));
  }

  get(app: string): string[] | undefined {
    const r = this.db.prepare('SELECT upstreams FROM routes WHERE app = ?').get(app) as { upstreams: string } | undefined;
    return r && (JSON.parse(r.upstreams) as string[]);
  }

  hold(app: string, held: Hold | null): void {
    this.db
      .prepare("INSERT INTO routes (app, upstreams, held) VALUES (?, '[]', ?) ON CONFLICT (app) DO UPDATE SET held = excluded.held")
      .run(app, held === null ? null : JSON.stringify(held));
  }

  held(app: string): Hold | null {
    const r = this.db.prepare('SELECT held FROM routes WHERE app = ?').get(app) as { held: string | null } | undefined;
    return r?.held ? (JSON.parse(r.held) as Hold) : null;
  }

  all(): { app: string; upstreams: string[]; hosts: string[]; held: Hold | null; maintenance: Maintenance | null }[] {
    const rows = this.db
      .prepare('SELECT a.name AS app, a.maintenance, r.upstreams, r.held FROM apps a LEFT JOIN routes r ON r.app = a.name ORDER BY a.name')
      .all() as {
      app: string;
      maintenance: string | null;
      upstreams: string | null;
      held: string | null;
    }[];
    const domains = this.db.prepare('SELECT host, app FROM domains ORDER BY host').all() as { host: string; app: string }[];
    return rows.map((r) => ({
      app: r.app,
      upstreams: r.upstreams === null ? [] : (JSON.parse(r.upstreams) as string[]),
      hosts: domains.filter((d) => d.app === r.app).map((d) => d.host),
      held: r.held === null ? null : (JSON.parse(r.held) as Hold),
      maintenance: r.maintenance === null ? null : (JSON.parse(r.maintenance) as Maintenance),
    }));
  }
}

class SqliteAccess implements AccessStore {
  constructor(private readonly db: Db) {}

  grant(app: string, user: string, by: string): boolean {
    return this.db.prepare('INSERT OR IGNORE INTO access (app, user, granted_by, granted_at) VALUES (?, ?, ?, ?)').run(app, user, by, now()).changes > 0;
  }

  revoke(app: string, user: string): boolean {
    return this.db.prepare('DELETE FROM access WHERE app = ? AND user = ?').run(app, user).changes > 0;
  }

  list(app: string): string[] {
    return (this.db.prepare('SELECT user FROM access WHERE app = ? ORDER BY user').all(app) as { user: string }[]).map((r) => r.user);
  }

  has(app: string, user: string): boolean {
    return this.db.prepare('SELECT 1 FROM access WHERE app = ? AND user = ?').get(app, user) !== undefined;
  }
}

class SqliteEvents implements EventStore {
  constructor(private readonly db: Db) {}

  record(e: Omit<AuditEvent, 'id' | 'time'>): void {
    this.db
      // The app's identity as it is when the event happens: a later app of the same name does not read it.
      .prepare(
        'INSERT INTO events (time, app, app_id, user, source, action, detail, outcome) VALUES (?, ?, (SELECT id FROM apps WHERE name = ?), ?, ?, ?, ?, ?)',
      )
      .run(now(), e.app, e.app, e.user, e.source, e.action, JSON.stringify(e.detail), e.outcome);
  }

  list(filter: { app?: string; appId?: string; limit: number; since?: string }): AuditEvent[] {
    const since = filter.since ?? '';
    const rows = (
      filter.appId !== undefined
        ? this.db.prepare('SELECT * FROM events WHERE app_id = ? AND time >= ? ORDER BY id DESC LIMIT ?').all(filter.appId, since, filter.limit)
        : filter.app !== undefined
          ? this.db.prepare('SELECT * FROM events WHERE app = ? AND time >= ? ORDER BY id DESC LIMIT ?').all(filter.app, since, filter.limit)
          : this.db.prepare('SELECT * FROM events WHERE time >= ? ORDER BY id DESC LIMIT ?').all(since, filter.limit)
    ) as Row[];
    return rows.map((r) => ({
      id: Number(r.id),
      time: String(r.time),
      app: r.app === null ? null : String(r.app),
      user: String(r.user),
      source: String(r.source),
      action: String(r.action),
      detail: JSON.parse(String(r.detail)) as Record<string, unknown>,
      outcome: String(r.outcome),
    }));
  }
}

class SqliteWebhooks implements WebhookStore {
  constructor(private readonly db: Db) {}

  add(app: string, url: string, by: string): Webhook {
    try {
      const info = this.db.prepare('INSERT INTO webhooks (app, url, created_by) VALUES (?, ?, ?)').run(app, url, by);
      return { id: Number(info.lastInsertRowid), app, url, createdBy: by };
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`${app} has that webhook already`);
      throw err;
    }
  }

  remove(app: string, id: number): boolean {
    return this.db.prepare('DELETE FROM webhooks WHERE app = ? AND id = ?').run(app, id).changes > 0;
  }

  list(app: string): Webhook[] {
    return (this.db.prepare('SELECT * FROM webhooks WHERE app = ? ORDER BY id').all(app) as Row[]).map((r) => ({
      id: Number(r.id),
      app: String(r.app),
      url: String(r.url),
      createdBy: String(r.created_by),
    }));
  }
}

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

class SqliteTokens implements TokenStore {
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

function toHolder(r: Row): LockHolder {
  return {
    app: String(r.app),
    pid: Number(r.pid),
    holder: String(r.holder),
    purpose: String(r.purpose),
    since: String(r.since),
  };
}

class SqliteLocks implements LockStore {
  constructor(private readonly db: Db) {}

  tryAcquire(h: Omit<LockHolder, 'since'>, isAlive: (pid: number) => boolean): LockHolder | undefined {
    return this.db
      .transaction(() => {
        const r = this.db.prepare('SELECT * FROM locks WHERE app = ?').get(h.app) as Row | undefined;
        if (r) {
          const current = toHolder(r);
          if (current.pid !== h.pid && isAlive(current.pid)) return current;
          this.db.prepare('DELETE FROM locks WHERE app = ?').run(h.app);
        }
        this.db.prepare('INSERT INTO locks (app, pid, holder, purpose, since) VALUES (?, ?, ?, ?, ?)').run(h.app, h.pid, h.holder, h.purpose, now());
        return undefined;
      })
      .immediate();
  }

  release(app: string, pid: number): void {
    this.db.prepare('DELETE FROM locks WHERE app = ? AND pid = ?').run(app, pid);
  }
}

function isUniqueViolation(err: unknown): boolean {
  return err instanceof Error && 'code' in err && String(err.code).startsWith('SQLITE_CONSTRAINT');
}

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

class SqliteStacks implements StackStore {
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
