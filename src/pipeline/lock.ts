import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError } from '../errors.js';
import { isProcessAlive } from '../processes.js';
import type { Store } from '../store/store.js';

/**
 * Runs fn holding the app's lock, waiting (and saying so) while another push
 * or command holds it. The lock lives in the database with the holder's pid,
 * so a holder that died does not block anyone, and it is always released.
 */
export async function withAppLock<T>(
  store: Store,
  app: string,
  who: LockOwner,
  onWait: (message: string) => void,
  signal: AbortSignal,
  fn: () => Promise<T>,
): Promise<T> {
  const pid = who.pid ?? process.pid;
  let announced = false;
  for (;;) {
    const current = store.locks.tryAcquire({ app, pid, holder: who.holder, purpose: who.purpose }, isProcessAlive);
    if (!current) break;
    if (!announced) {
      const message = `Waiting for the ${current.purpose} of ${app} by ${current.holder} (since ${current.since}) to finish`;
      onWait(message);
      announced = true;
    }
    if (signal.aborted) throw new ConflictError(`gave up waiting for the ${current.purpose} of ${app}`);
    await sleep(who.pollMs ?? 250);
  }
  let succeeded = false;
  try {
    const result = await fn();
    succeeded = true;
    return result;
  } finally {
    if (!succeeded || !who.keepAfterSuccess) store.locks.release(app, pid);
  }
}

export interface LockOwner {
  holder: string;
  purpose: string;
  /** The process whose life the lock lasts at most; this one by default. */
  pid?: number;
  /** Leave the lock held after success: it ends with the pid's process. */
  keepAfterSuccess?: boolean;
  /** How often a waiter looks again: a lock held for milliseconds (the router's) wants a short wait. */
  pollMs?: number;
}
