import path from 'node:path';
import { parseAppName } from '../domain/app-name.js';
import { findDeployUpdate, parseRefUpdates, ZERO_SHA } from '../domain/deploy-branch.js';
import { deployPush } from './push.js';
import type { PipelineDeps } from './deps.js';
import type { Progress } from '../output/progress.js';

export interface ReceiveRequest {
  /** What git wrote on the pre-receive hook's stdin. */
  refLines: string;
  /** The bare repo; the hook runs inside it. */
  repoDir: string;
  pusher: string;
  source: string;
}

/**
 * The pre-receive hook's work: a push to main or master deploys, and the
 * push is accepted only if the deploy succeeded; other refs are just stored.
 */
export async function receive(deps: PipelineDeps, req: ReceiveRequest, progress: Progress, signal: AbortSignal): Promise<void> {
  const app = parseAppName(path.basename(req.repoDir).replace(/\.git$/, ''));
  const updates = parseRefUpdates(req.refLines);
  const deployed = findDeployUpdate(updates);
  for (const u of updates) {
    if (u === deployed) continue;
    const name = u.ref.replace(/^refs\/heads\//, '');
    if (u.newSha === ZERO_SHA) progress.info(`Deleting ${name}`);
    else progress.info(`Storing ${name} (only main or master deploys)`);
  }
  if (!deployed) return;
  await deployPush(deps, { app, repoDir: req.repoDir, update: deployed, pusher: req.pusher, source: req.source }, progress, signal);
}
