import { spawn } from 'node:child_process';
import type { ServerChannel } from 'ssh2';
import type { GitRequest } from '../domain/git-request.js';
import { DEPLOY_BRANCHES } from '../domain/deploy-branch.js';
import { gitArgs, gitEnv, killGitGroup, openRepo } from '../operations/git-access.js';
import type { Caller, Services } from '../operations/operation.js';

/**
 * Serves git's own protocol on the channel by running git receive-pack or
 * upload-pack on the app's bare repo. A push to a new app creates it. The
 * deploy itself runs in the repo's pre-receive hook, in git's process group,
 * which is killed if the pusher goes away.
 */
export async function serveGit(services: Services, req: GitRequest, caller: Caller, channel: ServerChannel): Promise<number> {
  const { repoDir, created } = await openRepo(services, req, caller);
  const child = spawn('git', gitArgs(services, req.service, [repoDir]), {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    env: gitEnv(caller, created),
  });
  let exited = false;
  const killGroup = (): void => {
    if (!exited) killGitGroup(child.pid);
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
  if (req.service === 'git-receive-pack' && status === 0) await services.repos.fixHead(req.app, DEPLOY_BRANCHES);
  return status;
}
