import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError } from '../errors.js';
import type { Store } from '../store/store.js';

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: alive, but another user's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie answers kill(0) but is dead: a receive-pack whose server was killed may stay one where nothing reaps orphans.
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

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
