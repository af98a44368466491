/** Schema migrations, applied in order and recorded in schema_migrations. Never edit one that has shipped; add another. */
export const MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE apps (
        name TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        current_release INTEGER
      );
      CREATE TABLE keys (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user TEXT NOT NULL,
        fingerprint TEXT NOT NULL UNIQUE,
        public_key TEXT NOT NULL,
        admin INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
      );
      CREATE INDEX keys_user ON keys(user);
      CREATE TABLE builds (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        app TEXT NOT NULL,
        commit_sha TEXT NOT NULL,
        ref TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
        pusher TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        log_path TEXT NOT NULL,
        error TEXT
      );
      CREATE INDEX builds_app ON builds(app, id);
      CREATE TABLE releases (
        app TEXT NOT NULL,
        version INTEGER NOT NULL,
        image TEXT NOT NULL,
        commit_sha TEXT NOT NULL,
        build_id INTEGER,
        pusher TEXT NOT NULL,
        description TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'deployed', 'failed')),
        created_at TEXT NOT NULL,
        PRIMARY KEY (app, version)
      );
      CREATE TABLE locks (
        app TEXT PRIMARY KEY,
        pid INTEGER NOT NULL,
        holder TEXT NOT NULL,
        purpose TEXT NOT NULL,
        since TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    sql: `
      CREATE TABLE config_vars (
        app TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (app, key)
      );
      ALTER TABLE releases ADD COLUMN config TEXT NOT NULL DEFAULT '{}';
    `,
  },
  {
    version: 3,
    sql: `
      ALTER TABLE releases ADD COLUMN processes TEXT NOT NULL DEFAULT '{"web":null}';
      ALTER TABLE apps ADD COLUMN stopped INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE formation (
        app TEXT NOT NULL,
        process TEXT NOT NULL,
        quantity INTEGER,
        memory INTEGER,
        cpus REAL,
        PRIMARY KEY (app, process)
      );
      CREATE TABLE domains (
        host TEXT PRIMARY KEY,
        app TEXT NOT NULL
      );
      CREATE INDEX domains_app ON domains(app);
      CREATE TABLE routes (
        app TEXT PRIMARY KEY,
        upstreams TEXT NOT NULL
      );
    `,
  },
  {
    version: 4,
    sql: `
      CREATE TABLE access (
        app TEXT NOT NULL,
        user TEXT NOT NULL,
        granted_by TEXT NOT NULL,
        granted_at TEXT NOT NULL,
        PRIMARY KEY (app, user)
      );
      CREATE INDEX access_user ON access(user);
    `,
  },
  {
    version: 5,
    sql: `
      CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time TEXT NOT NULL,
        app TEXT,
        user TEXT NOT NULL,
        source TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL,
        outcome TEXT NOT NULL
      );
      CREATE INDEX events_app ON events(app, id);
      CREATE TABLE webhooks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        app TEXT NOT NULL,
        url TEXT NOT NULL,
        created_by TEXT NOT NULL,
        UNIQUE (app, url)
      );
    `,
  },
  {
    version: 6,
    sql: `
      CREATE TABLE tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user TEXT NOT NULL,
        name TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        revoked_at TEXT,
        last_used_at TEXT
      );
      CREATE INDEX tokens_user ON tokens(user);
    `,
  },
  {
    version: 7,
    sql: `ALTER TABLE releases ADD COLUMN healthcheck TEXT;`,
  },
  {
    version: 8,
    sql: `
      CREATE TABLE stacks (
        name TEXT PRIMARY KEY,
        creator TEXT NOT NULL,
        published INTEGER NOT NULL DEFAULT 0,
        definition TEXT NOT NULL,
        source TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      ALTER TABLE apps ADD COLUMN stack TEXT;
      ALTER TABLE releases ADD COLUMN port INTEGER;
    `,
  },
  {
    version: 9,
    sql: `ALTER TABLE apps ADD COLUMN runtime TEXT;`,
  },
  {
    version: 10,
    sql: `
      CREATE TABLE mounts (
        app TEXT NOT NULL,
        name TEXT NOT NULL,
        path TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (app, name),
        UNIQUE (app, path)
      );
    `,
  },
  {
    version: 11,
    sql: `
      ALTER TABLE mounts ADD COLUMN single_writer INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE routes ADD COLUMN held TEXT;
    `,
  },
  {
    version: 12,
    sql: `
      ALTER TABLE releases ADD COLUMN cron TEXT;
      CREATE TABLE cron_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        app TEXT NOT NULL,
        job TEXT NOT NULL,
        release INTEGER NOT NULL,
        trigger TEXT NOT NULL,
        due_at TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL,
        exit_code INTEGER,
        output TEXT NOT NULL DEFAULT '',
        pid INTEGER NOT NULL
      );
      CREATE INDEX cron_runs_app_job ON cron_runs(app, job, id);
      CREATE TABLE cron_jobs (
        app TEXT NOT NULL,
        job TEXT NOT NULL,
        since TEXT NOT NULL,
        last_due TEXT NOT NULL,
        PRIMARY KEY (app, job)
      );
    `,
  },
  {
    version: 13,
    sql: `ALTER TABLE releases ADD COLUMN scripts TEXT;`,
  },
  {
    version: 14,
    sql: `
      CREATE TABLE pipelines (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE pipeline_apps (
        app TEXT PRIMARY KEY,
        pipeline TEXT NOT NULL,
        stage TEXT NOT NULL,
        added_at TEXT NOT NULL
      );
      CREATE INDEX pipeline_apps_pipeline ON pipeline_apps(pipeline);
    `,
  },
  {
    version: 15,
    sql: `
      ALTER TABLE apps ADD COLUMN review_apps INTEGER;
      ALTER TABLE apps ADD COLUMN review_parent TEXT;
      ALTER TABLE apps ADD COLUMN review_branch TEXT;
    `,
  },
  {
    version: 16,
    sql: `ALTER TABLE releases ADD COLUMN environments TEXT;`,
  },
  {
    version: 17,
    sql: `
      CREATE TABLE config_groups (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE config_group_vars (
        grp TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (grp, key)
      );
      CREATE TABLE config_group_apps (
        grp TEXT NOT NULL,
        app TEXT NOT NULL,
        added_at TEXT NOT NULL,
        PRIMARY KEY (grp, app)
      );
    `,
  },
  {
    version: 18,
    sql: `ALTER TABLE apps ADD COLUMN maintenance TEXT;`,
  },
  {
    version: 19,
    sql: `ALTER TABLE mounts ADD COLUMN from_app TEXT;`,
  },
  {
    version: 20,
    sql: `
      CREATE TABLE certificates (
        app TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        names TEXT NOT NULL,
        chain TEXT NOT NULL,
        key TEXT NOT NULL,
        issuer TEXT NOT NULL,
        not_after TEXT NOT NULL,
        added_at TEXT NOT NULL,
        added_by TEXT NOT NULL,
        PRIMARY KEY (app, fingerprint)
      );
    `,
  },
  {
    version: 21,
    sql: `
      ALTER TABLE apps ADD COLUMN id TEXT;
      UPDATE apps SET id = lower(hex(randomblob(8)));
      CREATE UNIQUE INDEX apps_id ON apps(id);
      ALTER TABLE events ADD COLUMN app_id TEXT;
      UPDATE events SET app_id = (SELECT id FROM apps WHERE apps.name = events.app AND apps.created_at <= events.time);
      CREATE INDEX events_app_id ON events(app_id, id);
      ALTER TABLE mounts ADD COLUMN shared_by TEXT;
    `,
  },
  {
    version: 22,
    sql: `ALTER TABLE domains ADD COLUMN added_at TEXT;`,
  },
  {
    version: 23,
    sql: `ALTER TABLE builds ADD COLUMN timings TEXT;`,
  },
  {
    version: 24,
    sql: `
      CREATE TABLE backing_services (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        version TEXT NOT NULL,
        image TEXT NOT NULL,
        password TEXT NOT NULL,
        owner TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE service_links (
        service_id TEXT NOT NULL,
        app TEXT NOT NULL,
        variable TEXT NOT NULL,
        linked_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (service_id, app),
        UNIQUE (app, variable)
      );
      CREATE TABLE backups (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        service_id TEXT NOT NULL,
        service TEXT NOT NULL,
        status TEXT NOT NULL,
        trigger TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        bytes INTEGER,
        counts TEXT,
        error TEXT
      );
      CREATE INDEX backups_service ON backups(service_id, id);
    `,
  },
  {
    version: 25,
    sql: `
      CREATE TABLE release_backups (
        app TEXT NOT NULL,
        version INTEGER NOT NULL,
        service_id TEXT NOT NULL,
        backup_id INTEGER NOT NULL,
        PRIMARY KEY (app, version, service_id)
      );
    `,
  },
  {
    version: 26,
    sql: `
      ALTER TABLE backing_services ADD COLUMN backup_schedule TEXT;
      ALTER TABLE backing_services ADD COLUMN backup_keep INTEGER;
      ALTER TABLE backing_services ADD COLUMN backup_schedule_since TEXT;
    `,
  },
  {
    version: 27,
    sql: `
      CREATE TABLE service_access (
        service_id TEXT NOT NULL,
        user TEXT NOT NULL,
        granted_by TEXT NOT NULL,
        PRIMARY KEY (service_id, user)
      );
    `,
  },
  {
    version: 28,
    sql: `ALTER TABLE apps ADD COLUMN node TEXT;`,
  },
];
