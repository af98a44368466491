import { execa } from 'execa';

/**
 * Makes this engine a single-node swarm manager on loopback when it is not
 * one; says whether it did, so the test can leave the swarm again.
 */
export async function ensureSwarm(): Promise<boolean> {
  const state = (await execa('docker', ['info', '--format', '{{.Swarm.LocalNodeState}}'])).stdout.trim();
  if (state === 'active') return false;
  await execa('docker', ['swarm', 'init', '--advertise-addr', '127.0.0.1']);
  return true;
}

export async function leaveSwarm(): Promise<void> {
  await execa('docker', ['swarm', 'leave', '--force'], { reject: false });
}

/** docker service inspect, as JSON. */
export async function inspectService(name: string): Promise<Record<string, any>> {
  return JSON.parse((await execa('docker', ['service', 'inspect', name])).stdout)[0] as Record<string, any>;
}
