import type { ServerChannel } from 'ssh2';
import type { GitRequest } from '../domain/git-request.js';
import { openRepo, runGit } from '../operations/git-access.js';
import type { Caller, Services } from '../operations/operation.js';

/**
 * Serves git's own protocol on the channel by running git receive-pack or
 * upload-pack on the app's bare repo. A push to a new app creates it. The
 * deploy itself runs in the repo's pre-receive hook, in git's process group,
 * which is killed if the pusher goes away.
 */
export async function serveGit(services: Services, req: GitRequest, caller: Caller, channel: ServerChannel): Promise<number> {
  const repo = await openRepo(services, req, caller);
  return runGit(services, req, caller, repo, {
    input: channel,
    output: channel,
    endOutput: false,
    messages: channel.stderr,
    onGone: (listener) => {
      channel.on('close', listener);
      return () => channel.off('close', listener);
    },
  });
}
