import path from 'node:path';
import { pipelineOf } from '../pipeline/policy.js';
import { parseAppName } from '../domain/app-name.js';
import { parseRefUpdates } from '../domain/deploy-branch.js';
import { reviewAppName } from '../domain/pipeline.js';
import { defaultHost } from '../domain/host-name.js';
import { ConflictError } from '../errors.js';
import type { Progress } from '../output/progress.js';
import { withAppLock } from '../pipeline/lock.js';
import { deployPush } from '../pipeline/push.js';
import { deployTag, planRefs, type ReceiveRequest, type RefAction } from '../pipeline/receive.js';
import type { App } from '../store/store.js';
import { destroyApp, syncAllRefs } from './apps.js';
import { serverOp, type Services } from './operation.js';

export type { ReceiveRequest };

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
    if (a.kind === 'store') progress.info(`Storing ${a.name} (${record?.reviewApps ? 'main or master deploys; other branches, their review apps' : 'only main or master deploys'})`);
    if (a.kind === 'delete') progress.info(`Deleting ${a.name}`);
  }
  const [action] = deploying;
  if (!action) return;
  const push = { app, repoDir: req.repoDir, update: action.update, pusher: req.pusher, source: req.source };
  if (action.kind === 'deploy') await deployPush(services, push, progress, signal);
  else if (action.kind === 'tag') await deployTag(services, push, action.tag, progress, signal);
  else if (action.kind === 'review') await deployReviewApp(services, record as App, action.branch, push, progress, signal);
  else if (action.kind === 'review-delete') await destroyReviewApp(services, record as App, action.branch, req, progress, signal);
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
async function deployReviewApp(services: Services, parent: App, branch: string, push: Parameters<typeof deployPush>[1], progress: Progress, signal: AbortSignal): Promise<void> {
  const { store } = services;
  const name = reviewAppName(parent.name, branch);
  const existing = store.apps.find(name);
  if (existing && (existing.reviewOf?.parent !== parent.name || existing.reviewOf.branch !== branch)) {
    throw new ConflictError(`${branch}'s review app would be ${name}, which is another app; rename the branch`);
  }
  if (!existing) {
    if (store.domains.owner(defaultHost(name, services.config.domain))) throw new ConflictError(`the host of ${name} is a domain of another app; rename the branch`);
    // Counted and made in one transaction: two branches pushed at once cannot both take the last place.
    store.transaction(() => {
      const max = parent.reviewApps ?? 0;
      const count = store.apps.reviewAppsOf(parent.name).length;
      if (count >= max) {
        throw new ConflictError(`${parent.name} has ${count} review apps, its most (apps:set ${parent.name} review-apps on --max N); delete a branch first (git push REMOTE :BRANCH)`);
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
  const owner = { holder: req.pusher, purpose: 'destroy', pid: process.ppid };
  await withAppLock(services.store, name, owner, (m) => progress.step(m), signal, () => destroyApp(serverOp(services, progress, signal), name));
  syncAllRefs(services, parent.name);
  services.store.events.record({ app: name, user: req.pusher, source: req.source, action: 'apps:destroy', detail: { review: true, branch }, outcome: 'ok' });
  progress.step(`Destroyed review app ${name} (${branch} was deleted)`);
}
