import type { Backup, BackingService, BackupSchedule, ServiceLink } from '../domain/backing-service.js';
import type { Maintenance } from '../domain/maintenance.js';
import type { Stage } from '../domain/pipeline.js';
import type { FormationEntry } from '../domain/formation.js';
import type { StackDefinition } from '../domain/stackfile.js';
import type {
  App,
  AuditEvent,
  Build,
  BuildStatus,
  ConfigGroup,
  CronJobState,
  CronRun,
  CronRunStatus,
  CustomCertificate,
  Hold,
  Key,
  LockHolder,
  Mount,
  Pipeline,
  Release,
  ReleaseStatus,
  Stack,
  Token,
  Webhook,
} from '../domain/entities.js';

export interface AppStore {
  create(name: string, createdBy: string, stack?: string | null): App;
  find(name: string): App | undefined;
  list(): App[];
  setCurrentRelease(name: string, version: number | null): void;
  setStopped(name: string, stopped: boolean): void;
  setStack(name: string, stack: string | null): void;
  setRuntime(name: string, runtime: string | null): void;
  setNode(name: string, node: string | null): void;
  setReviewApps(name: string, max: number | null): void;
  setMaintenance(name: string, maintenance: Maintenance | null): void;
  /** Records a review app of parent for branch, owned by the parent's owner. */
  createReview(name: string, parent: string, branch: string, owner: string): App;
  reviewAppsOf(parent: string): App[];
  /** Apps that build with the stack. */
  usingStack(stack: string): string[];
  remove(name: string): void;
}

export interface StackStore {
  /** Refuses a name that is taken. */
  create(definition: StackDefinition, source: string, creator: string): Stack;
  update(definition: StackDefinition, source: string): void;
  find(name: string): Stack | undefined;
  list(): Stack[];
  setPublished(name: string, published: boolean): void;
  remove(name: string): void;
}

export interface KeyStore {
  add(key: Omit<Key, 'id' | 'createdAt'>): Key;
  findByFingerprint(fingerprint: string): Key | undefined;
  list(): Key[];
  /** Removes every key of the user and revokes their tokens; returns how many keys. */
  removeUser(user: string): number;
  hasUser(user: string): boolean;
  isAdmin(user: string): boolean;
}

export interface BuildStore {
  start(build: Pick<Build, 'app' | 'commit' | 'ref' | 'pusher' | 'pid'>, logPathFor: (id: number) => string): Build;
  finish(id: number, status: Exclude<BuildStatus, 'running'>, error?: string): void;
  /** Keeps how long each step of the push took. */
  setTimings(id: number, timings: Build['timings']): void;
  find(app: string, id: number): Build | undefined;
  latest(app: string): Build | undefined;
  list(app: string): Build[];
  running(): Build[];
  /** Builds still marked running whose process is gone: mark them failed. Returns them. */
  failAbandoned(isAlive: (pid: number) => boolean): Build[];
}

export interface ReleaseStore {
  /** Records the next version for the app, status pending, its image named by imageFor(version). */
  create(release: Omit<Release, 'version' | 'status' | 'createdAt' | 'image'>, imageFor: (version: number) => string): Release;
  setStatus(app: string, version: number, status: ReleaseStatus): void;
  find(app: string, version: number): Release | undefined;
  /** The release the app serves (its current one), if it has one. */
  current(app: string): Release | undefined;
  list(app: string): Release[];
  failAbandoned(app: string): void;
}

/** An app's config vars: what the next release will run with. */
export interface ConfigStore {
  get(app: string): Record<string, string>;
  /** Sets and unsets in one transaction. */
  update(app: string, set: Record<string, string>, unset: readonly string[]): void;
}

export interface ConfigGroupStore {
  create(name: string, owner: string): ConfigGroup;
  find(name: string): ConfigGroup | undefined;
  list(): ConfigGroup[];
  /** Removes the group, its values and memberships. */
  remove(name: string): void;
  vars(name: string): Record<string, string>;
  update(name: string, set: Record<string, string>, unset: readonly string[]): void;
  addApp(name: string, app: string): void;
  removeApp(name: string, app: string): boolean;
  /** The groups an app is in, in the order it joined them (a later one's value wins). */
  groupsOf(app: string): string[];
}

export interface FormationStore {
  list(app: string): FormationEntry[];
  /** null puts a type back to its default quantity. */
  setQuantities(app: string, counts: Record<string, number | null>): void;
  setResources(app: string, process: string, limits: { memory?: number | null; cpus?: number | null }): void;
}

export interface MountStore {
  list(app: string): Mount[];
  /** Refuses a name or a path the app mounts already. */
  add(app: string, name: string, path: string, options?: { singleWriter?: boolean; from?: string | null; sharedBy?: string | null }): Mount;
  remove(app: string, name: string): boolean;
  /** The other apps that mount this app's volume (or any of its volumes). */
  sharers(app: string, name?: string): string[];
  /** The shares this user made that involve this app, either side: each is a mount of `app` (the consumer). */
  sharesBy(user: string, app: string): (Mount & { app: string })[];
}

export interface DomainStore {
  /** Refuses a host that another app has. */
  add(app: string, host: string): void;
  remove(app: string, host: string): boolean;
  list(app: string): string[];
  /** The app that has this custom domain. */
  owner(host: string): string | undefined;
  /** How many domains these apps were given since that time (ISO). */
  addedSince(apps: readonly string[], since: string): number;
}

/** Where each app's web traffic goes: the desired routing, recorded first, then applied to the router. */
export interface RouteStore {
  set(app: string, upstreams: readonly string[]): void;
  get(app: string): string[] | undefined;
  /** The app's hold: while it lasts, its requests wait, and the upstreams set meanwhile are where they go after (null ends it). */
  hold(app: string, held: Hold | null): void;
  held(app: string): Hold | null;
  /** Every app's routing, with its maintenance (one read for the whole router config). */
  all(): { app: string; upstreams: string[]; hosts: string[]; held: Hold | null; maintenance: Maintenance | null }[];
}

/** Who besides its owner (the user who created it) may use an app. */
export interface AccessStore {
  grant(app: string, user: string, by: string): boolean;
  revoke(app: string, user: string): boolean;
  list(app: string): string[];
  has(app: string, user: string): boolean;
}

export interface EventStore {
  record(event: Omit<AuditEvent, 'id' | 'time'>): void;
  /** Newest first; since (a time) keeps only what happened from then on, e.g. in this life of an app name. */
  /** app: every event under that name (the admin's trail); appId: the events of that app alone, not of an earlier app of the same name. */
  list(filter: { app?: string; appId?: string; limit: number; since?: string }): AuditEvent[];
}

export interface WebhookStore {
  add(app: string, url: string, by: string): Webhook;
  remove(app: string, id: number): boolean;
  list(app: string): Webhook[];
}

export interface TokenStore {
  create(token: { user: string; name: string; hash: string; expiresAt: string | null }): Token;
  /** The live token with this hash (not revoked, not expired, its user still has a key); marks it used. */
  use(hash: string, now: Date): Token | undefined;
  list(user?: string): Token[];
  revoke(id: number): boolean;
  find(id: number): Token | undefined;
}

export interface LockStore {
  /** Takes the app's lock if free (or held by a dead process); returns the current holder when not taken. */
  tryAcquire(holder: Omit<LockHolder, 'since'>, isAlive: (pid: number) => boolean): LockHolder | undefined;
  release(app: string, pid: number): void;
}

export interface CronStore {
  start(run: Pick<CronRun, 'app' | 'job' | 'release' | 'trigger' | 'dueAt' | 'pid'>): CronRun;
  /** Records how a run ended, unless something else already did (a run replaced by a newer one). */
  finish(id: number, status: Exclude<CronRunStatus, 'running'>, exitCode: number | null, output: string): void;
  find(app: string, id: number): CronRun | undefined;
  /** Newest first. */
  runs(app: string, filter: { job?: string; limit: number }): CronRun[];
  running(app: string, job?: string): CronRun[];
  lastSuccess(app: string, job: string): CronRun | undefined;
  /** Marks the running runs of dead processes interrupted; returns them. */
  failAbandoned(isAlive: (pid: number) => boolean): CronRun[];
  state(app: string, job: string): CronJobState | undefined;
  setState(app: string, job: string, lastDue: string): void;
}

export interface PipelineStore {
  create(name: string, owner: string): Pipeline;
  find(name: string): Pipeline | undefined;
  list(): Pipeline[];
  /** Removes the pipeline and its memberships (the apps stay). */
  remove(name: string): void;
  /** Puts the app in the pipeline at a stage; an app is in one pipeline at most. */
  addApp(pipeline: string, app: string, stage: Stage): void;
  removeApp(app: string): boolean;
  ofApp(app: string): { pipeline: string; stage: Stage } | undefined;
}

/** Custom certificates; keys are sealed like config values. */
export interface CertificateStore {
  /** Adds one, replacing the app's certificates that name any of the same hosts; returns those it replaced. */
  add(app: string, cert: Omit<CustomCertificate, 'addedAt'> & { chain: string; key: string }): CustomCertificate[];
  list(app: string): CustomCertificate[];
  remove(app: string, fingerprint: string): boolean;
  /** Every app's certificates with chain and key, for the router. */
  all(): { app: string; names: string[]; chain: string; key: string }[];
}

/** Backing services (services:*), their sealed passwords, and their links to apps. */
export interface BackingServiceStore {
  /** Refuses a name that is taken, and an owner's service beyond ownerLimit (0: no limit), counted in the same transaction. */
  create(service: Omit<BackingService, 'createdAt' | 'schedule'>, password: string, ownerLimit: number): BackingService;
  /** null: no scheduled backups. */
  setSchedule(id: string, schedule: BackupSchedule | null): void;
  find(name: string): BackingService | undefined;
  list(): BackingService[];
  password(id: string): string;
  /** Refuses while linked; its backups' records go too. */
  remove(id: string): void;
  /** Refuses a second link of the service to the app, and a variable the app has from another link. */
  link(link: Omit<ServiceLink, 'createdAt' | 'service'>): ServiceLink;
  unlink(serviceId: string, app: string): boolean;
  /** Every link of the app (apps:destroy). */
  unlinkApp(app: string): void;
  links(filter: { serviceId?: string; app?: string }): ServiceLink[];
  /** Who besides its owner may use the service. */
  grant(serviceId: string, user: string, by: string): boolean;
  revoke(serviceId: string, user: string): boolean;
  users(serviceId: string): string[];
}

export interface BackupStore {
  start(backup: Pick<Backup, 'serviceId' | 'service' | 'trigger'>): Backup;
  finish(id: number, outcome: Pick<Backup, 'status' | 'bytes' | 'counts' | 'error'>): void;
  find(serviceId: string, id: number): Backup | undefined;
  /** Newest first. */
  list(serviceId: string): Backup[];
  remove(serviceId: string, id: number): void;
  /** Backups still running after the server stopped: marked bad. Returns them. */
  failAbandoned(): Backup[];
  /** Records the backup taken of a linked service just before the release phase of app's release version. */
  recordForRelease(app: string, version: number, serviceId: string, backupId: number): void;
  /** The backups taken before the release phase of that release. */
  forRelease(app: string, version: number): { serviceId: string; backupId: number }[];
  /** apps:destroy: a later app of the name has none of them. */
  forgetApp(app: string): void;
}

export interface Store {
  backingServices: BackingServiceStore;
  backups: BackupStore;
  apps: AppStore;
  certificates: CertificateStore;
  keys: KeyStore;
  builds: BuildStore;
  releases: ReleaseStore;
  config: ConfigStore;
  formation: FormationStore;
  mounts: MountStore;
  domains: DomainStore;
  routes: RouteStore;
  access: AccessStore;
  events: EventStore;
  webhooks: WebhookStore;
  tokens: TokenStore;
  stacks: StackStore;
  locks: LockStore;
  cron: CronStore;
  pipelines: PipelineStore;
  configGroups: ConfigGroupStore;
  /** Runs fn in one transaction. */
  transaction<T>(fn: () => T): T;
  integrityCheck(): string;
  close(): void;
}
