import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { buildImageTag } from '../domain/names.js';
import { parseProcfile, type Processes } from '../domain/procfile.js';
import { parseAppManifest, type AppManifest } from '../domain/skiff-yml.js';
import type { ScheduleRules } from '../domain/cron.js';
import { NO_SCRIPTS, parseAppJson, type ReleaseScripts } from '../domain/app-json.js';
import { RELEASE_PHASE } from '../domain/formation.js';
import { verify } from './verify.js';
import { ZERO_SHA, type RefUpdate } from '../domain/deploy-branch.js';
import { runGit } from '../git/run-git.js';
import { BuildFailedError, ConflictError, InvalidError, NotFoundError, userMessage } from '../errors.js';
import type { AppStack, BuildContext, BuiltImage, ImageOwner } from '../builder/builder.js';
import type { App, Build } from '../domain/entities.js';
import { withTimeout } from './timeout.js';
import type { PipelineDeps } from './deps.js';
import { build } from './build.js';
import { readSourceFile } from '../builder/source-files.js';
import { checkout } from './checkout.js';
import { withAppLock } from './lock.js';
import { stage, type Progress } from '../output/progress.js';
import { capped, MAX_LOG_BYTES } from '../output/capped.js';
import { rollout } from './deploy.js';
import { configOf } from './app-config.js';
import { assertMayPush, mayUseImageOf, resolveAppStack } from '../access/policy.js';

export interface PushRequest {
  app: string;
  repoDir: string;
  update: RefUpdate;
  pusher: string;
  /** Where the push came from, for the audit trail. */
  source: string;
  /** How long the hook's process took to start, noted as the push's first step. */
  startedMs?: number;
  /** The process whose life the app's lock lasts at most: git's receive-pack (the hook's parent, by default). */
  lockPid?: number;
  /** git's quarantine variables, when the push runs outside the hook's process (in the server). */
  gitEnv?: Record<string, string>;
}

/** A push that failed after its build started: the reason is already shown to the pusher and in the build log. */
export class PushRejected extends Error {
  constructor(readonly reason: unknown) {
    super(userMessage(reason), { cause: reason });
    this.name = 'PushRejected';
  }
}

export function buildLogPath(config: Config, app: string, id: number): string {
  return path.join(config.buildsDir, app, `${id}.log`);
}

/**
 * A push, start to end: checkout → build → verify → (release → deploy → route), under
 * the app's lock. Any failure leaves the previous release serving and is
 * recorded; the build log keeps every line the pusher saw.
 */
export async function deployPush(deps: PipelineDeps, req: PushRequest, progress: Progress, signal: AbortSignal): Promise<string> {
  const { store, config } = deps;
  const { app, update } = req;
  const short = update.newSha.slice(0, 7);
  // git moves the branch only after this hook succeeds: the lock lasts as long as
  // git's receive-pack (the hook's parent), so the next push cannot start before
  // the branch has moved and sees that it moved.
  const owner = { holder: req.pusher, purpose: 'deploy', pid: req.lockPid ?? process.ppid, keepAfterSuccess: true };
  const times = progress.recordTimes();
  if (req.startedMs !== undefined) progress.noteTime('hook start', req.startedMs);
  const asked = performance.now();
  return withAppLock(
    store,
    app,
    owner,
    (m) => progress.step(m),
    signal,
    async () => {
      progress.noteTime('lock', performance.now() - asked);
      await assertRefUnmoved(req.repoDir, update, req.gitEnv);
      fs.mkdirSync(path.join(config.buildsDir, app), { recursive: true, mode: 0o700 });
      const record = store.builds.start({ app, commit: update.newSha, ref: update.ref, pusher: req.pusher, pid: process.pid }, (id) =>
        buildLogPath(config, app, id),
      );
      const closeBuildLog = openBuildLog(record.logPath, progress);
      const log = deps.log.child({ app, build: record.id });
      const workDir = path.join(config.buildsDir, app, `${record.id}.src`);
      let startingScale: Record<string, null> | undefined;
      try {
        progress.step(`Deploying ${app} (${update.ref.replace('refs/heads/', '')} ${short}, build ${record.id})`);
        await stage(
          progress,
          'Checking out',
          () => checkout(req.repoDir, update.newSha, workDir, signal, req.gitEnv),
          (files) => `${files} files at ${short}`,
        );
        const { processes, manifest, appRecord, stack, access } = await progress.time('manifests', async () => ({
          processes: readProcfile(workDir),
          manifest: readManifests(workDir, { seconds: config.cron.seconds }, progress),
          ...pushAccess(deps, req),
        }));
        const image = await stage(
          progress,
          'Building image',
          () =>
            buildWithinTimeout(deps, signal, {
              app,
              appId: appRecord.id,
              limits: { ...config.build, pids: config.pidsLimit },
              access,
              buildId: record.id,
              dir: workDir,
              stack,
              tag: buildImageTag(app, record.id),
              progress,
            }),
          (img) => `Built ${img.id.replace('sha256:', '').slice(0, 12)}`,
        );
        if (manifest.verify) {
          const command = manifest.verify;
          await stage(
            progress,
            `Verifying (${command})`,
            () => verify(deps, { app, image: image.tag, command, env: configOf(store, app) }, progress, signal),
            () => 'Passed',
          );
        }
        startingScale = applyStartingScale(deps, app, manifest.formation, processes);
        const { url } = await rollout(
          deps,
          {
            app,
            image: image.tag,
            commit: update.newSha,
            buildId: record.id,
            pusher: req.pusher,
            description: `Deploy ${short}`,
            config: configOf(store, app),
            processes,
            healthcheck: manifest.healthcheck ?? null,
            cron: manifest.cron ?? [],
            scripts: manifest.scripts,
            environments: manifest.environments ?? {},
            port: stack?.kind === 'stackfile' ? stack.definition.service.expose : null,
            dropSourceTag: true,
          },
          progress,
          signal,
          { codebase: workDir },
        );
        store.builds.finish(record.id, 'succeeded');
        recordPush(deps, req, record.id, 'ok', log);
        return url;
      } catch (err) {
        if (startingScale) store.formation.setQuantities(app, startingScale);
        progress.warn(`Push rejected: ${userMessage(err)}`);
        recordPush(deps, req, record.id, `failed: ${userMessage(err)}`, log);
        store.builds.finish(record.id, 'failed', userMessage(err));
        log[isUserFacing(err) ? 'info' : 'error']({ err }, 'push failed');
        throw new PushRejected(err);
      } finally {
        fs.rmSync(workDir, { recursive: true, force: true });
        await closeBuildLog();
        saveTimings(deps, record.id, times, log);
      }
    },
  );
}

/** The push's step times in its build record (builds:info); failing to keep them does not fail the push. */
function saveTimings(deps: PipelineDeps, build: number, times: Build['timings'], log: PipelineDeps['log']): void {
  try {
    deps.store.builds.setTimings(build, times);
  } catch (err) {
    log.error({ err }, 'could not keep the step times');
  }
}

/** The build log gets every line the pusher sees, up to MAX_LOG_BYTES; returns how to close it. */
function openBuildLog(logPath: string, progress: Progress): () => Promise<void> {
  const file = fs.createWriteStream(logPath, { flags: 'a', mode: 0o600 });
  const sink = capped(file, MAX_LOG_BYTES);
  progress.addSink(sink);
  return async () => {
    progress.removeSink(sink);
    await new Promise((resolve) => file.end(resolve));
  };
}

/** The push in the audit trail, with its outcome; the trail failing does not fail the push. */
function recordPush(deps: PipelineDeps, req: PushRequest, build: number, outcome: string, log: PipelineDeps['log']): void {
  try {
    deps.store.events.record({
      app: req.app,
      user: req.pusher,
      source: req.source,
      action: 'push',
      detail: { commit: req.update.newSha, ref: req.update.ref, build },
      outcome,
    });
  } catch (err) {
    log.error({ err }, 'could not record event');
  }
}

/**
 * The app as the push finds it, and what its build may use: the door checked
 * the pusher's access too, but the app may have been destroyed, or its stack
 * unpublished, since.
 */
function pushAccess(deps: PipelineDeps, req: PushRequest): { appRecord: App; stack: AppStack | null; access: BuildContext['access'] } {
  const { store, config } = deps;
  const appRecord = store.apps.find(req.app);
  if (!appRecord) throw new NotFoundError(`app '${req.app}' was destroyed during the push`);
  const pusher = { user: req.pusher, admin: store.keys.isAdmin(req.pusher) };
  assertMayPush(store, appRecord, pusher);
  const stack = resolveAppStack(store, appRecord);
  return { appRecord, stack, access: { mayUse: (owner: ImageOwner) => mayUseImageOf(store, owner, pusher), registryPrefix: config.registry?.prefix } };
}

/** The build, ended at SKIFF_BUILD_TIMEOUT: a build that never ends (RUN sleep) would hold the app's lock forever. */
async function buildWithinTimeout(deps: PipelineDeps, signal: AbortSignal, ctx: Omit<BuildContext, 'signal'>): Promise<BuiltImage> {
  const limited = withTimeout(signal, deps.config.buildTimeoutMs);
  try {
    return await build(deps.builders, { ...ctx, signal: limited.signal });
  } catch (err) {
    if (!limited.timedOut()) throw err;
    throw new BuildFailedError(
      `the build ran past SKIFF_BUILD_TIMEOUT (${deps.config.buildTimeoutMs / 1000} s); make it faster, or ask an admin to raise the limit`,
      err,
    );
  }
}

interface Manifests extends AppManifest {
  scripts: ReleaseScripts;
  formation?: Record<string, number>;
}

/**
 * skiff.yml and app.json, merged: app.json's scripts, formation, cron and
 * web health check are read too, and where skiff.yml says the same thing
 * (healthcheck, cron) skiff.yml wins. The pusher is told what app.json gave.
 */
function readManifests(dir: string, rules: ScheduleRules, progress: Progress): Manifests {
  const own = parseAppManifest(readSourceFile(dir, 'skiff.yml'), rules);
  const json = parseAppJson(readSourceFile(dir, 'app.json'), rules);
  if (!json) return { ...own, scripts: NO_SCRIPTS };
  const overridden = [own.healthcheck && json.healthcheck && 'healthchecks', own.cron && json.cron && 'cron'].filter(Boolean);
  const used = json.honoured.filter((k) => !overridden.includes(k));
  progress.info(
    `app.json: using ${used.join(', ') || 'nothing'}` +
      (overridden.length ? `; skiff.yml's ${overridden.join(', ')} win${overridden.length === 1 ? 's' : ''}` : '') +
      (json.ignored.length ? `; ignoring ${json.ignored.join(', ')}` : ''),
  );
  return { ...own, healthcheck: own.healthcheck ?? json.healthcheck, cron: own.cron ?? json.cron, scripts: json.scripts, formation: json.formation };
}

/**
 * app.json's formation is a starting scale, as on Heroku: it sets the
 * quantity of each type the app has no scale recorded for (the first push,
 * a new type); a scale set with ps:scale is kept. A quantity of 0 for a
 * type the Procfile does not run is left out. Returns what to put back
 * if the push fails.
 */
function applyStartingScale(
  deps: PipelineDeps,
  app: string,
  formation: Record<string, number> | undefined,
  processes: Processes,
): Record<string, null> | undefined {
  if (!formation) return undefined;
  const recorded = new Set(
    deps.store.formation
      .list(app)
      .filter((f) => f.quantity !== null)
      .map((f) => f.process),
  );
  // None of a type the Procfile lacks is no contradiction (Dokku's worker-only apps say web: 0); some of one is.
  formation = Object.fromEntries(Object.entries(formation).filter(([t, n]) => n > 0 || (t in processes && t !== RELEASE_PHASE)));
  const unknown = Object.keys(formation).filter((t) => !(t in processes) || t === RELEASE_PHASE);
  if (unknown.length)
    throw new InvalidError(
      `app.json: formation names ${unknown.join(', ')}, which the Procfile does not run (it has ${Object.keys(processes)
        .filter((t) => t !== RELEASE_PHASE)
        .join(', ')})`,
    );
  const fresh = Object.fromEntries(Object.entries(formation).filter(([t]) => !recorded.has(t)));
  if (Object.keys(fresh).length === 0) return undefined;
  const single = deps.store.mounts.list(app).find((m) => m.singleWriter);
  if (single && (fresh.web ?? 0) > 1)
    throw new InvalidError(`app.json: formation.web.quantity is ${fresh.web}, but web mounts ${single.name}, a single-writer volume: one instance at most`);
  deps.store.formation.setQuantities(app, fresh);
  return Object.fromEntries(Object.keys(fresh).map((t) => [t, null]));
}

function readProcfile(dir: string): Processes {
  return parseProcfile(readSourceFile(dir, 'Procfile'));
}

/**
 * A push that waited for another one may find its branch moved: git would
 * refuse the ref update after the deploy, so refuse before it instead.
 */
async function assertRefUnmoved(repoDir: string, update: RefUpdate, gitEnv: Record<string, string> | undefined): Promise<void> {
  const { stdout } = await runGit(['rev-parse', '--verify', '--quiet', update.ref], repoDir, gitEnv);
  const current = stdout.trim() || ZERO_SHA;
  if (current !== update.oldSha) {
    const branch = update.ref.replace('refs/heads/', '');
    throw new ConflictError(`${branch} moved to ${current.slice(0, 7)} while this push waited; pull, then push again`);
  }
}

function isUserFacing(err: unknown): boolean {
  return err instanceof Error && err.name === 'SkiffError';
}
