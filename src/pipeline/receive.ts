import { findDeployUpdate, ZERO_SHA, type RefUpdate } from '../domain/deploy-branch.js';
import { pipelineOf } from './policy.js';
import { runGit } from '../git/run-git.js';
import { ConflictError, userMessage } from '../errors.js';
import type { Release } from '../store/store.js';
import type { Progress } from '../output/progress.js';
import type { PipelineDeps } from './deps.js';
import { withAppLock } from './lock.js';
import { deployPush, PushRejected, type PushRequest } from './push.js';
import { releaseOf } from './release.js';
import { rollout } from './rollout.js';
import { configOf } from './app-config.js';

export interface ReceiveRequest {
  /** What git wrote on the pre-receive hook's stdin. */
  refLines: string;
  /** The bare repo; the hook runs inside it. */
  repoDir: string;
  pusher: string;
  source: string;
}

/** What a pushed ref does. */
export type RefAction =
  | { kind: 'deploy'; update: RefUpdate }
  | { kind: 'review'; update: RefUpdate; branch: string }
  | { kind: 'review-delete'; update: RefUpdate; branch: string }
  | { kind: 'tag'; update: RefUpdate; tag: string }
  | { kind: 'store' | 'delete'; update: RefUpdate; name: string };

/**
 * Reads a push's ref updates: main (or else master) deploys the app; with
 * review apps on, another branch deploys (or, deleted, destroys) its review
 * app, and a deleted branch that has one destroys it even with them off; on
 * an app at the production stage of a pipeline, a tag deploys the commit it
 * names; anything else is only stored.
 */
export function planRefs(updates: readonly RefUpdate[], app: { reviewApps: boolean; reviewBranches?: ReadonlySet<string>; production: boolean }): RefAction[] {
  const deployed = findDeployUpdate(updates);
  return updates.map((update): RefAction => {
    if (update === deployed) return { kind: 'deploy', update };
    const deleted = update.newSha === ZERO_SHA;
    if (update.ref.startsWith('refs/heads/')) {
      const branch = update.ref.slice('refs/heads/'.length);
      if (app.reviewApps && branch !== 'main' && branch !== 'master') return { kind: deleted ? 'review-delete' : 'review', update, branch };
      if (deleted && app.reviewBranches?.has(branch)) return { kind: 'review-delete', update, branch };
      return { kind: deleted ? 'delete' : 'store', update, name: branch };
    }
    if (update.ref.startsWith('refs/tags/')) {
      const tag = update.ref.slice('refs/tags/'.length);
      if (app.production && !deleted) return { kind: 'tag', update, tag };
      return { kind: deleted ? 'delete' : 'store', update, name: tag };
    }
    return { kind: deleted ? 'delete' : 'store', update, name: update.ref };
  });
}

/**
 * A pushed tag on a production app: deploys the commit it names. If an
 * earlier stage of the app's pipeline released that commit and its image is
 * still here (or in the registry), that image is released again, with this
 * app's config, and nothing is built; otherwise the commit is built as a
 * push would.
 */
export async function deployTag(deps: PipelineDeps, req: PushRequest, tag: string, progress: Progress, signal: AbortSignal): Promise<void> {
  const { store } = deps;
  const resolved = await runGit(['rev-parse', '--verify', '--quiet', `${req.update.newSha}^{commit}`], req.repoDir);
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
  const owner = { holder: req.pusher, purpose: 'deploy', pid: process.ppid, keepAfterSuccess: true };
  await withAppLock(store, req.app, owner, (m) => progress.step(m), signal, async () => {
    try {
      await rollout(
        deps,
        { ...releaseOf(from), app: req.app, buildId: null, pusher: req.pusher, description: `Deploy tag ${tag} (${commit.slice(0, 7)}), image of ${built.app} v${from.version}`, config: configOf(store, req.app) },
        progress,
        signal,
      );
      store.events.record({ app: req.app, user: req.pusher, source: req.source, action: 'push', detail: { commit, ref: req.update.ref, image: `${built.app} v${from.version}` }, outcome: 'ok' });
    } catch (err) {
      progress.warn(`Push rejected: ${userMessage(err)}`);
      store.events.record({ app: req.app, user: req.pusher, source: req.source, action: 'push', detail: { commit, ref: req.update.ref }, outcome: `failed: ${userMessage(err)}` });
      throw new PushRejected(err);
    }
  });
}
