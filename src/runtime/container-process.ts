import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isProcessAlive } from '../processes.js';

/*
 * A container's processes seen from this host's /proc. When a container's
 * first process (the init of its pid namespace) exits, the kernel kills
 * every other process of the namespace and waits for them before the init
 * itself is gone, and each closed its files as it exited: from then on no
 * process of the container holds a lock or a file on its volumes, while the
 * engine may still take a few hundred milliseconds to tear the container
 * down. A single-writer handover starts the new instance from that moment.
 */

/**
 * The container's init process as this host sees it: its pid when it runs
 * here and its cgroup names the container (so not another host's engine or
 * a process that reused the pid), 0 when the container runs nothing, null
 * when this host cannot tell.
 */
export function containerInit(pid: number, containerId: string): number | null {
  if (pid === 0) return 0;
  if (!Number.isInteger(pid) || pid < 0 || containerId.length < 12) return null;
  try {
    return fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(containerId) ? pid : null;
  } catch {
    return null;
  }
}

/** Resolves once every one of these processes has exited; polled, as no event says so for a process that is not our child. */
export async function allExited(pids: readonly number[], pollMs = 5): Promise<void> {
  while (pids.some((pid) => pid !== 0 && isProcessAlive(pid))) await sleep(pollMs);
}
