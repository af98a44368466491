import type { Caller } from '../domain/caller.js';
import type { Repos } from '../git/repos.js';
import type { Progress } from '../output/progress.js';
import type { PipelineDeps } from '../pipeline/deps.js';
import { withAppLock } from '../pipeline/lock.js';

export type { Caller };

/** What operations may use; main.ts builds the concrete ones. */
export interface Services extends PipelineDeps {
  repos: Repos;
  version: string;
}

/**
 * One use case's call: who asks, where its steps are told (a progress sink,
 * never a terminal), and the signal that ends it when the caller goes away.
 */
export interface Op {
  services: Services;
  caller: Caller;
  progress: Progress;
  signal: AbortSignal;
  /** Told when the operation waits for another change of the same app to finish. */
  onWait(message: string): void;
}

/** Runs fn under the app's lock, telling the caller while another change of the app finishes first. */
export function withOpLock<T>(op: Op, app: string, purpose: string, fn: () => Promise<T>): Promise<T> {
  return withAppLock(op.services.store, app, { holder: op.caller.user, purpose }, op.onWait, op.signal, fn);
}
