import type { Caller } from '../domain/caller.js';
import type { Repos } from '../git/repos.js';
import { Progress } from '../output/progress.js';
import type { PipelineDeps } from '../pipeline/deps.js';
import { converge } from '../pipeline/converge.js';
import { withAppLock } from '../pipeline/lock.js';
import { getApp } from '../access/policy.js';
import type { Instance } from '../runtime/runtime.js';
import type { ServiceContainers } from '../runtime/backing-services.js';
import type { BackupFiles } from '../store/backup-files.js';

export type { Caller };

/** What operations may use; server/compose.ts builds the concrete ones. */
export interface Services extends PipelineDeps {
  repos: Repos;
  /** Backing services' containers (services:*). */
  serviceContainers: ServiceContainers;
  /** Their backups' sealed files. */
  backupFiles: BackupFiles;
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

/** What an operation needs when it tells no steps and takes no app lock: who asks, and the services. */
export type Ask = Pick<Op, 'services' | 'caller'>;

/** The server acting for itself (a review app's expiry, a share that ends): an admin's rights, no terminal. */
export function serverOp(services: Services, progress: Progress = new Progress([]), signal: AbortSignal = new AbortController().signal): Op {
  return { services, caller: { user: 'skiff', admin: true, via: 'host' }, progress, signal, onWait: (m) => progress.info(m) };
}

/** Runs fn under the app's lock, telling the caller while another change of the app finishes first. */
export function withOpLock<T>(op: Op, app: string, purpose: string, fn: () => Promise<T>): Promise<T> {
  return withAppLock(op.services.store, app, { holder: op.caller.user, purpose }, (message) => op.onWait(message), op.signal, fn);
}

/**
 * Records a change of what runs (scale, stop, start, limits, mounts, a
 * restart) and brings the instances of the current release in line with it,
 * under the app's lock, replacing these types. If the new instances do not
 * come up, undo puts the record back to what runs, or every later restart
 * would fail the same way. Returns the instances stopped, or undefined when
 * the app has no release yet (the change takes effect with the first deploy).
 */
export function applyToRelease(
  op: Op,
  app: string,
  purpose: string,
  replace: readonly string[] | 'all',
  change: () => void,
  undo: () => void,
): Promise<Instance[] | undefined> {
  const { services, caller } = op;
  return withOpLock(op, app, purpose, async () => {
    change();
    getApp(services, caller, app);
    const rel = services.store.releases.current(app);
    if (!rel) return undefined;
    try {
      return (await converge(services, rel, { replace, progress: op.progress, signal: op.signal })).stopped;
    } catch (err) {
      undo();
      throw err;
    }
  });
}
