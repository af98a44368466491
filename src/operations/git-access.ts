import { spawn } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { DEPLOY_BRANCHES } from '../domain/deploy-branch.js';
import type { GitRequest } from '../domain/git-request.js';
import { ConflictError } from '../errors.js';
import { assertMayPush, getApp } from '../access/policy.js';
import { createApp } from './apps.js';
import { PAIR_FDS, PUSH_PAIR_ENV, servePushPair } from './hook-pair.js';
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
function gitArgs(services: Services, service: GitRequest['service'], rest: string[]): string[] {
  const limits = ['-c', `receive.maxInputSize=${services.config.maxPushBytes}`, '-c', 'receive.fsckObjects=true'];
  return [...limits, service.replace(/^git-/, ''), ...rest];
}

/** The environment git runs with: the pre-receive hook learns from it who pushes, and from where. */
function gitEnv(caller: Caller, created: boolean): NodeJS.ProcessEnv {
  return { ...process.env, SKIFF_USER: caller.user, SKIFF_SOURCE: sourceOf(caller), SKIFF_APP_CREATED: created ? '1' : '' };
}

/** Ends git and the hook under it (they share a process group). */
function killGitGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

/** Where a door's git process reads and writes, and how the door says its client went away. */
export interface GitStreams {
  /** What the client sends; null when it sends nothing (a stateless ref advertisement). */
  input: NodeJS.ReadableStream | null;
  output: NodeJS.WritableStream;
  /** Whether git's end ends the output (an HTTP response) or the door goes on using it (an SSH channel). */
  endOutput: boolean;
  /** git's messages: the client's (SSH's stderr) or the log's (HTTP has no channel for them). */
  messages: NodeJS.WritableStream;
  /** Calls the listener when the client goes away; returns how to stop listening. */
  onGone(listener: () => void): () => void;
}

/**
 * The git door's one sequence, for SSH and HTTP alike, once openRepo said
 * yes: runs git on the repo in a process group of its own (the deploy runs
 * in its pre-receive hook, and is ended with it when the client goes away),
 * pipes the client's streams, waits, and after a push points HEAD at the
 * branch pushed. Returns git's exit status.
 */
export async function runGit(
  services: Services,
  req: GitRequest,
  caller: Caller,
  repo: { repoDir: string; created: boolean },
  streams: GitStreams,
  statelessRpc?: { advertiseRefs: boolean },
): Promise<number> {
  const rpc = statelessRpc ? ['--stateless-rpc', ...(statelessRpc.advertiseRefs ? ['--advertise-refs'] : [])] : [];
  const advertising = statelessRpc?.advertiseRefs === true;
  // A push's hook gets a pair of sockets to this process (hook-pair.ts): its deploy runs here, with no process of node's to start.
  const pair = req.service === 'git-receive-pack' && !advertising;
  const child = spawn('git', gitArgs(services, req.service, [...rpc, repo.repoDir]), {
    stdio: pair ? ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'],
    detached: true,
    env: { ...gitEnv(caller, repo.created), ...(pair ? PUSH_PAIR_ENV : {}) },
  });
  let exited = false;
  const gone = new AbortController();
  const stopListening = streams.onGone(() => {
    gone.abort();
    if (!exited) killGitGroup(child.pid);
  });
  if (pair && child.pid !== undefined) {
    const { output, control } = PAIR_FDS;
    const push = { repoDir: repo.repoDir, pusher: caller.user, source: sourceOf(caller), created: repo.created, lockPid: child.pid };
    servePushPair(services, push, child.stdio[output] as Duplex, child.stdio[control] as Duplex, gone.signal);
  }
  child.stdin.on('error', () => {});
  if (streams.input) streams.input.pipe(child.stdin);
  else child.stdin.end();
  child.stdout.pipe(streams.output, { end: streams.endOutput });
  child.stderr.pipe(streams.messages, { end: false });
  const status = await new Promise<number>((resolve) => {
    child.on('error', (err) => {
      services.log.error({ err, app: req.app }, 'could not run git');
      resolve(1);
    });
    child.on('close', (code, sig) => resolve(code ?? (sig ? 128 + 15 : 1)));
  });
  exited = true;
  stopListening();
  if (req.service === 'git-receive-pack' && !advertising && status === 0) await services.repos.fixHead(req.app, DEPLOY_BRANCHES);
  return status;
}
