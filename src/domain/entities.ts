/** The things Skiff keeps, as every floor sees them; the store (src/store/) keeps them, and says how in its interfaces. */
import type { ReleaseScripts } from './app-json.js';
import type { CronJob } from './cron.js';
import type { Maintenance } from './maintenance.js';
import type { Overlays, Stage } from './pipeline.js';
import type { Processes } from './procfile.js';
import type { StackDefinition } from './stackfile.js';

export interface App {
  /** The app's identity: fixed at creation, never given to another app (a name is, once destroyed). */
  id: string;
  name: string;
  createdAt: string;
  createdBy: string;
  /** Version of the release that serves now, if any. */
  currentRelease: number | null;
  /** ps:stop: nothing runs until ps:start. */
  stopped: boolean;
  /** The stack the app builds with (a built-in or a stackfile stack), or null: Dockerfile, else detection. */
  stack: string | null;
  /** apps:set APP runtime NAME; null: the server's SKIFF_RUNTIME. */
  runtime: string | null;
  /** apps:set APP node NAME: the swarm node its tasks are placed on; null: any. */
  node: string | null;
  /** apps:set APP review-apps on: how many review apps its branches may have; null: off. */
  reviewApps: number | null;
  /** For a review app: the app and branch it was made for. */
  reviewOf: { parent: string; branch: string } | null;
  /** maintenance:on: every request answered 503 but those under allowed paths; null: off. */
  maintenance: Maintenance | null;
}

/** A stack defined by a stackfile.yml: usable by its creator until published. */
export interface Stack {
  name: string;
  creator: string;
  published: boolean;
  definition: StackDefinition;
  /** The stackfile as it was sent, for stacks:info. */
  source: string;
  createdAt: string;
  updatedAt: string;
}

export interface Key {
  id: number;
  user: string;
  fingerprint: string;
  publicKey: string;
  admin: boolean;
  createdAt: string;
}

export type BuildStatus = 'running' | 'succeeded' | 'failed';

export interface Build {
  id: number;
  app: string;
  commit: string;
  ref: string;
  status: BuildStatus;
  pusher: string;
  pid: number;
  startedAt: string;
  finishedAt: string | null;
  logPath: string;
  error: string | null;
  /** How long each step of the push took, in the order they began (depth: a step within the one before at a lower depth); empty for builds made before they were noted. */
  timings: { step: string; depth: number; ms: number }[];
}

export type ReleaseStatus = 'pending' | 'deployed' | 'failed';

export interface Release {
  app: string;
  version: number;
  image: string;
  commit: string;
  buildId: number | null;
  pusher: string;
  description: string;
  status: ReleaseStatus;
  createdAt: string;
  /** The config vars the release runs with: a snapshot, so a rollback restores them too. */
  config: Record<string, string>;
  /** Process types from the Procfile (null: the image's CMD). */
  processes: Processes;
  /** skiff.yml's healthcheck path: web instances must answer it with 2xx (otherwise any HTTP answer will do). */
  healthcheck: string | null;
  /** The scheduled jobs this release declares. */
  cron: CronJob[];
  /** app.json's commands around a deploy. */
  scripts: ReleaseScripts;
  /** skiff.yml's environments: what each pipeline stage changes. */
  environments: Overlays;
  /** The port web instances listen on (their PORT), from the stack's expose; null: SKIFF_APP_PORT. */
  port: number | null;
}

/** Config values several apps share; an app's own value of a key wins over a group's. */
export interface ConfigGroup {
  name: string;
  owner: string;
  createdAt: string;
  /** Its apps, in the order they joined. */
  apps: string[];
}

/** A named volume of the app, and where its containers see it. */
export interface Mount {
  name: string;
  path: string;
  /** Never two containers with it at once: only web mounts it, at scale 1, and a deploy hands it over (stop, then start). */
  singleWriter: boolean;
  /** The app whose volume it is, when another app shares it (storage:mount APP OTHER/NAME:/path); null: the app's own. */
  from: string | null;
  /** For a shared volume: the user who shared it; the share ends when they lose access to either app. */
  sharedBy: string | null;
  createdAt: string;
}

/** A hold of an app's requests (the router's hold, and why and until when it holds). */
export interface Hold {
  id: string;
  socket: string;
  release: string;
  pid: number;
  reason: 'pause' | 'handover' | 'restore';
  /** A pause's end (ISO time): its requests go then, whoever asked. */
  until: string | null;
  /** Being released: the router answers on its release socket until none of its requests is left. */
  releasing: boolean;
}

/** One line of the audit trail. detail never holds a config value. */
export interface AuditEvent {
  id: number;
  time: string;
  app: string | null;
  user: string;
  /** 'host', or 'ssh KEY-FINGERPRINT from ADDRESS'. */
  source: string;
  action: string;
  detail: Record<string, unknown>;
  /** 'ok', 'denied', or 'failed: reason'. */
  outcome: string;
}

export interface Webhook {
  id: number;
  app: string;
  url: string;
  createdBy: string;
}

/** A token for git over HTTPS; only its hash is kept. */
export interface Token {
  id: number;
  user: string;
  name: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export interface LockHolder {
  app: string;
  pid: number;
  holder: string;
  purpose: string;
  since: string;
}

export type CronTrigger = 'schedule' | 'catch-up' | 'manual';

/** running; succeeded; failed (non-zero exit); timed-out; replaced (a newer run stopped it); interrupted (its server or command ended first). */
export type CronRunStatus = 'running' | 'succeeded' | 'failed' | 'timed-out' | 'replaced' | 'interrupted';

/** One run of a scheduled job. */
export interface CronRun {
  id: number;
  app: string;
  job: string;
  release: number;
  trigger: CronTrigger;
  /** The scheduled time it stands for; null for a run started by hand. */
  dueAt: string | null;
  startedAt: string;
  finishedAt: string | null;
  status: CronRunStatus;
  exitCode: number | null;
  /** The last 64 KiB of its output. */
  output: string;
  /** The process that runs it: a run whose process died was interrupted. */
  pid: number;
}

/** Where the scheduler is with a job: ticks up to lastDue are handled (run or skipped); since is when it first saw the job. */
export interface CronJobState {
  since: string;
  lastDue: string;
}

/** A pipeline: apps at stages an image is promoted through. */
export interface Pipeline {
  name: string;
  owner: string;
  createdAt: string;
  apps: { app: string; stage: Stage }[];
}

/** A custom certificate of an app (certs:add), as listed: never its key. */
export interface CustomCertificate {
  fingerprint: string;
  names: string[];
  issuer: string;
  notAfter: string;
  addedAt: string;
  addedBy: string;
}
