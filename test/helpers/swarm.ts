import { execa } from 'execa';

/** The test fleet's names (scripts/fleet.sh): this engine advertises the swarm on hostAddr, the worker's end of the veth. */
export const FLEET = {
  hostAddr: '192.168.231.1',
  workerAddr: '192.168.231.2',
  hostname: 'skiff-worker',
} as const;

/**
 * Makes this engine a swarm manager when it is not one, advertising the test
 * fleet's veth address (made first), so a second engine can join as a worker;
 * says whether it did, so the set-up can leave the swarm again.
 */
export async function ensureSwarm(): Promise<boolean> {
  const state = (await execa('docker', ['info', '--format', '{{.Swarm.LocalNodeState}}'])).stdout.trim();
  if (state === 'active') return false;
  await fleet('net-up');
  await execa('docker', ['swarm', 'init', '--advertise-addr', FLEET.hostAddr]);
  return true;
}

export async function leaveSwarm(): Promise<void> {
  await execa('docker', ['swarm', 'leave', '--force'], { reject: false });
  await fleet('net-down');
}

/** The fleet script: net-up, up [--no-join] [PORT…], worker ARG…, down, net-down. */
export async function fleet(...args: string[]): Promise<string> {
  return (await execa('bash', ['scripts/fleet.sh', ...args], { timeout: 180_000 })).stdout;
}

/** The address this engine's swarm advertises: the worker can join only when it is the fleet's. */
export async function managerAddress(): Promise<string> {
  return (await execa('docker', ['info', '--format', '{{.Swarm.NodeAddr}}'])).stdout.trim();
}

/** docker service inspect, as JSON. */
export async function inspectService(name: string): Promise<Record<string, any>> {
  return JSON.parse((await execa('docker', ['service', 'inspect', name])).stdout)[0] as Record<string, any>;
}

export interface LoadResult {
  sent: number;
  /** Each failed request: its status and body, or the error. */
  failed: string[];
  /** When each request ended (ms since the epoch), and whether it got a 200. */
  timeline: { at: number; ok: boolean }[];
}

/** Requests one after another, bounded in count (5000) and time (3 min), while fn runs: how many failed, of how many, and when. */
export async function underLoad(request: () => Promise<{ status: number; body: string }>, fn: () => Promise<void>): Promise<LoadResult> {
  let done = false;
  const result: LoadResult = { sent: 0, failed: [], timeline: [] };
  const loop = (async () => {
    const deadline = Date.now() + 180_000;
    while (!done && result.sent < 5000 && Date.now() < deadline) {
      result.sent++;
      let ok = false;
      try {
        const r = await request();
        ok = r.status === 200;
        if (!ok) result.failed.push(`${r.status} ${r.body.trim()}`);
      } catch (err) {
        result.failed.push(String(err));
      }
      result.timeline.push({ at: Date.now(), ok });
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    await fn();
  } finally {
    done = true;
    await loop;
  }
  return result;
}
