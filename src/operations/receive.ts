import path from 'node:path';
import { pipelineOf } from '../access/policy.js';
import { parseAppName } from '../domain/app-name.js';
import { parseRefUpdates, planRefs, type RefAction } from '../domain/deploy-branch.js';
import { reviewAppName } from '../domain/pipeline.js';
import { defaultHost } from '../domain/host-name.js';
import { ConflictError, userMessage } from '../errors.js';
import type { Progress } from '../output/progress.js';
import { withAppLock } from '../pipeline/lock.js';
import { deployPush, PushRejected, type PushRequest } from '../pipeline/push.js';
import { releaseOf } from '../pipeline/release.js';
import { rollout } from '../pipeline/deploy.js';
import { configOf } from '../pipeline/app-config.js';
import { runGit } from '../git/run-git.js';
import type { App, Release } from '../domain/entities.js';
import { destroyApp, syncAllRefs } from './apps.js';
import { serverOp, type Services } from './operation.js';

export interface ReceiveRequest {
  /** What git wrote on the pre-receive hook's stdin. */
  refLines: string;
  /** The bare repo; the hook runs inside it. */
  repoDir: string;
  pusher: string;
  source: string;
  /** How long the hook's process took to get here (a push's first step). */
  startedMs?: number;
  /** git's receive-pack, whose life the app's lock lasts at most (the hook's parent, by default). */
  lockPid?: number;
  /** git's quarantine variables, when this runs in the server rather than in the hook's process. */
  gitEnv?: Record<string, string>;
}

/**
 * The pre-receive hook's work: what each pushed ref does (planRefs), then
 * the one deploy among them. git accepts all of a push's refs or none, so a
 * push that would deploy twice (main and a review branch, two review
 * branches, a tag and main) is refused before anything runs.
 */
export async function receivePush(services: Services, req: ReceiveRequest, progress: Progress, signal: AbortSignal): Promise<void> {
  const app = parseAppName(path.basename(req.repoDir).replace(/\.git$/, ''));
  const record = services.store.apps.find(app);
  const actions = planRefs(parseRefUpdates(req.refLines), {
    reviewApps: record?.reviewApps !== null && record?.reviewApps !== undefined,
    reviewBranches: new Set(services.store.apps.reviewAppsOf(app).map((r) => r.reviewOf?.branch as string)),
    production: pipelineOf(services.store, app)?.stage === 'production',
  });
  const deploying = actions.filter((a) => a.kind !== 'store' && a.kind !== 'delete');
  if (deploying.length > 1) {
    throw new ConflictError(`this push would deploy ${deploying.map(describe).join(' and ')}; push them one at a time`);
  }
  for (const a of actions) {
    if (a.kind === 'store')
      progress.info(`Storing ${a.name} (${record?.reviewApps ? 'main or master deploys; other branches, their review apps' : 'only main or master deploys'})`);
    if (a.kind === 'delete') progress.info(`Deleting ${a.name}`);
  }
  const [action] = deploying;
  if (!action) return;
  const { repoDir, pusher, source, startedMs, lockPid, gitEnv } = req;
  const push = { app, repoDir, update: action.update, pusher, source, startedMs, lockPid, gitEnv };
  if (action.kind === 'deploy') await deployPush(services, push, progress, signal);
  else if (action.kind === 'tag') await deployTag(services, push, action.tag, progress, signal);
  else if (action.kind === 'review') await deployReviewApp(services, record as App, action.branch, push, progress, signal);
  else if (action.kind === 'review-delete') await destroyReviewApp(services, record as App, action.branch, req, progress, signal);
}

/** A push a hook handed over, wherever it runs: its exit status for the hook, after telling the pusher why it failed. */
export async function runHookPush(services: Services, req: ReceiveRequest & { created: boolean }, progress: Progress, signal: AbortSignal): Promise<number> {
  if (req.created) progress.step(`Created app ${path.basename(req.repoDir, '.git')}`);
  try {
    await receivePush(services, req, progress, signal);
    return 0;
  } catch (err) {
    if (err instanceof PushRejected) return 1;
    if (!(err instanceof Error && err.name === 'SkiffError')) services.log.error({ err, repo: req.repoDir }, 'pre-receive failed');
    progress.warn(`Push rejected: ${userMessage(err)}`);
    return 1;
  }
}

function describe(a: RefAction): string {
  if (a.kind === 'deploy') return a.update.ref.replace('refs/heads/', '');
  if (a.kind === 'tag') return `tag ${a.tag}`;
  if (a.kind === 'review' || a.kind === 'review-delete') return `${a.branch}'s review app`;
  return a.name;
}

/**
 * A branch's review app: made on the branch's first push (the parent's
 * owner, stack, runtime and config as its start; no storage; its users are
 * the parent's, asked live, never a copy), then
 * deployed like any push. The parent's --max bounds how many it has.
 */
async function deployReviewApp(
  services: Services,
  parent: App,
  branch: string,
  push: Parameters<typeof deployPush>[1],
  progress: Progress,
  signal: AbortSignal,
): Promise<void> {
  const { store } = services;
  const name = reviewAppName(parent.name, branch);
  const existing = store.apps.find(name);
  if (existing && (existing.reviewOf?.parent !== parent.name || existing.reviewOf.branch !== branch)) {
    throw new ConflictError(`${branch}'s review app would be ${name}, which is another app; rename the branch`);
  }
  if (!existing) {
    if (store.domains.owner(defaultHost(name, services.config.domain)))
      throw new ConflictError(`the host of ${name} is a domain of another app; rename the branch`);
    // Counted and made in one transaction: two branches pushed at once cannot both take the last place.
    store.transaction(() => {
      const max = parent.reviewApps ?? 0;
      const count = store.apps.reviewAppsOf(parent.name).length;
      if (count >= max) {
        throw new ConflictError(
          `${parent.name} has ${count} review app${count === 1 ? '' : 's'}, its most (apps:set ${parent.name} review-apps on --max N); delete a branch first (git push REMOTE :BRANCH)`,
        );
      }
      store.apps.createReview(name, parent.name, branch, parent.createdBy);
      store.config.update(name, store.config.get(parent.name), []);
      for (const group of store.configGroups.groupsOf(parent.name)) store.configGroups.addApp(group, name);
      if (parent.stack) store.apps.setStack(name, parent.stack);
      if (parent.runtime) store.apps.setRuntime(name, parent.runtime);
    });
    progress.step(`Created review app ${name} for ${branch} (its config starts as ${parent.name}'s)`);
  }
  await deployPush(services, { ...push, app: name }, progress, signal);
}

async function destroyReviewApp(services: Services, parent: App, branch: string, req: ReceiveRequest, progress: Progress, signal: AbortSignal): Promise<void> {
  const name = reviewAppName(parent.name, branch);
  const app = services.store.apps.find(name);
  if (!app || app.reviewOf?.parent !== parent.name || app.reviewOf.branch !== branch) {
    progress.info(`Deleting ${branch} (it had no review app)`);
    return;
  }
  const owner = { holder: req.pusher, purpose: 'destroy', pid: req.lockPid ?? process.ppid };
  await withAppLock(
    services.store,
    name,
    owner,
    (m) => progress.step(m),
    signal,
    () => destroyApp(serverOp(services, progress, signal), name),
  );
  syncAllRefs(services, parent.name);
  services.store.events.record({ app: name, user: req.pusher, source: req.source, action: 'apps:destroy', detail: { review: true, branch }, outcome: 'ok' });
  progress.step(`Destroyed review app ${name} (${branch} was deleted)`);
}

/**
 * A pushed tag on a production app: deploys the commit it names. If an
 * earlier stage of the app's pipeline released that commit and its image is
 * still here (or in the registry), that image is released again, with this
 * app's config, and nothing is built; otherwise the commit is built as a
 * push would.
 */
async function deployTag(deps: Services, req: PushRequest, tag: string, progress: Progress, signal: AbortSignal): Promise<void> {
  const { store } = deps;
  const resolved = await runGit(['rev-parse', '--verify', '--quiet', `${req.update.newSha}^{commit}`], req.repoDir, req.gitEnv);
  const commit = resolved.stdout.trim();
  if (resolved.exitCode !== 0 || !/^[0-9a-f]{40}$/.test(commit)) throw new ConflictError(`tag ${tag} names no commit`);
  const membership = pipelineOf(store, req.app);
  const others = membership ? (store.pipelines.find(membership.pipeline)?.apps ?? []).filter((a) => a.app !== req.app) : [];
  let built: { app: string; stage: string; release: Release } | undefined;
  for (const other of others) {
    const release = store.releases.list(other.app).find((r) => r.commit === commit && r.status === 'deployed');
    if (release && (deps.registry || (await deps.images.exists(release.image)))) {
      built = { app: other.app, stage: other.stage, release };
      break;
    }
  }
  if (!built) {
    progress.step(`Deploying tag ${tag} (${commit.slice(0, 7)}): no earlier stage released it, so it is built here`);
    await deployPush(deps, { ...req, update: { ...req.update, newSha: commit } }, progress, signal);
    return;
  }
  const from = built.release;
  progress.step(`Deploying tag ${tag} (${commit.slice(0, 7)}) with the image ${built.stage} built: ${built.app} v${from.version}, not rebuilt`);
  const owner = { holder: req.pusher, purpose: 'deploy', pid: req.lockPid ?? process.ppid, keepAfterSuccess: true };
  await withAppLock(
    store,
    req.app,
    owner,
    (m) => progress.step(m),
    signal,
    async () => {
      try {
        await rollout(
          deps,
          {
            ...releaseOf(from),
            app: req.app,
            buildId: null,
            pusher: req.pusher,
            description: `Deploy tag ${tag} (${commit.slice(0, 7)}), image of ${built.app} v${from.version}`,
            config: configOf(store, req.app),
          },
          progress,
          signal,
        );
        store.events.record({
          app: req.app,
          user: req.pusher,
          source: req.source,
          action: 'push',
          detail: { commit, ref: req.update.ref, image: `${built.app} v${from.version}` },
          outcome: 'ok',
        });
      } catch (err) {
        progress.warn(`Push rejected: ${userMessage(err)}`);
        store.events.record({
          app: req.app,
          user: req.pusher,
          source: req.source,
          action: 'push',
          detail: { commit, ref: req.update.ref },
          outcome: `failed: ${userMessage(err)}`,
        });
        throw new PushRejected(err);
      }
    },
  );
}
