import { spawn } from 'node:child_process';
import type { ServerChannel } from 'ssh2';
import type { GitRequest } from '../domain/git-request.js';
import { DEPLOY_BRANCHES } from '../domain/deploy-branch.js';
import { ConflictError } from '../errors.js';
import { createApp, getApp } from '../commands/app-lifecycle.js';
import { outcomeOf, recordEvent } from '../commands/audit.js';
import type { Caller, Services } from '../commands/command.js';

/**
 * Serves git's own protocol on the channel by running git receive-pack or
 * upload-pack on the app's bare repo. A push to a new app creates it. The
 * deploy itself runs in the repo's pre-receive hook, in git's process group,
 * which is killed if the pusher goes away.
 */
export async function serveGit(services: Services, req: GitRequest, caller: Caller, channel: ServerChannel): Promise<number> {
  const { repos, store } = services;
  let created = false;
  const existing = store.apps.find(req.app);
  if (existing || req.service === 'git-upload-pack') {
    // Fetching needs the app; pushing to an existing one needs access to it.
    try {
      getApp(services, caller, req.app);
    } catch (err) {
      const action = req.service === 'git-upload-pack' ? 'fetch' : 'push';
      recordEvent(services, caller, action, { app: req.app, detail: {} }, outcomeOf(err));
      throw err;
    }
  } else {
    try {
      await createApp(services, req.app, caller);
      created = true;
    } catch (err) {
      // Two first pushes at once: the other one created it.
      if (!(err instanceof ConflictError)) throw err;
    }
  }
  const repoDir = await repos.ensure(req.app);
  const child = spawn('git', [req.service.replace(/^git-/, ''), repoDir], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    env: {
      ...process.env,
      SKIFF_USER: caller.user,
      SKIFF_KEY_FINGERPRINT: caller.fingerprint ?? '',
      SKIFF_CLIENT_ADDRESS: caller.address ?? '',
      SKIFF_APP_CREATED: created ? '1' : '',
    },
  });
  let exited = false;
  const killGroup = (): void => {
    if (exited || child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  channel.on('close', killGroup);
  channel.pipe(child.stdin);
  child.stdin.on('error', () => {});
  child.stdout.pipe(channel, { end: false });
  child.stderr.pipe(channel.stderr, { end: false });
  const status = await new Promise<number>((resolve) => {
    child.on('error', (err) => {
      services.log.error({ err, app: req.app }, 'could not run git');
      resolve(1);
    });
    child.on('close', (code, sig) => resolve(code ?? (sig ? 128 + 15 : 1)));
  });
  exited = true;
  channel.off('close', killGroup);
  if (req.service === 'git-receive-pack' && status === 0) await repos.fixHead(req.app, DEPLOY_BRANCHES);
  return status;
}
