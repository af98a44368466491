import type { GitRequest } from '../domain/git-request.js';
import { ConflictError } from '../errors.js';
import { assertMayPush, getApp } from '../access/policy.js';
import { createApp } from './apps.js';
import { outcomeOf, recordEvent, sourceOf } from './audit.js';
import type { Caller, Services } from './operation.js';

/**
 * What any git door (SSH, HTTPS) does before it runs git: fetching needs the
 * app and access to it; pushing to an existing app needs access; pushing to a
 * new name creates the app, if the caller may create apps. Refusals are
 * recorded. Returns the repo and whether this request created the app.
 */
export async function openRepo(services: Services, req: GitRequest, caller: Caller): Promise<{ repoDir: string; created: boolean }> {
  let created = false;
  if (!services.store.apps.find(req.app) && req.service === 'git-receive-pack') {
    try {
      await createApp(services, req.app, caller);
      created = true;
    } catch (err) {
      // Two first pushes at once, and the other one created it: this push is
      // now one to an existing app, and must pass the same check as any other.
      if (!(err instanceof ConflictError) || !services.store.apps.find(req.app)) throw err;
    }
  }
  if (!created) {
    try {
      const app = getApp(services, caller, req.app);
      if (req.service === 'git-receive-pack') assertMayPush(services.store, app, caller);
    } catch (err) {
      recordEvent(services, caller, req.service === 'git-upload-pack' ? 'fetch' : 'push', { app: req.app, detail: {} }, outcomeOf(err));
      throw err;
    }
  }
  return { repoDir: await services.repos.ensure(req.app), created };
}

/**
 * git's own arguments for a door's git process: a push is bounded in size
 * (SKIFF_MAX_PUSH_SIZE) and its objects are checked as they come (a
 * malformed tree, say two entries of one name, never reaches a checkout).
 */
export function gitArgs(services: Services, service: GitRequest['service'], rest: string[]): string[] {
  const limits = ['-c', `receive.maxInputSize=${services.config.maxPushBytes}`, '-c', 'receive.fsckObjects=true'];
  return [...limits, service.replace(/^git-/, ''), ...rest];
}

/** The environment git runs with: the pre-receive hook learns from it who pushes, and from where. */
export function gitEnv(caller: Caller, created: boolean): NodeJS.ProcessEnv {
  return { ...process.env, SKIFF_USER: caller.user, SKIFF_SOURCE: sourceOf(caller), SKIFF_APP_CREATED: created ? '1' : '' };
}

/** Ends git and the hook under it (they share a process group). */
export function killGitGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    // already gone
  }
}
