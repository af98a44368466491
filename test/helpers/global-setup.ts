import { execa } from 'execa';
import { ensureSwarm, leaveSwarm } from './swarm.js';

/**
 * Before any test: the project's own set-up (builds dist/, which the
 * end-to-end tests run, and makes the base image every docker test builds
 * FROM; both are cached, so a second run costs little). The engine becomes a
 * swarm manager for the swarm runtime's tests, once for all test files,
 * advertising the test fleet's veth address (scripts/fleet.sh) so a second
 * engine can join; it leaves the swarm afterwards if it was none before.
 */
export default async function setup(): Promise<() => Promise<void>> {
  await execa('bash', ['scripts/setup.sh', '--test'], { stdio: 'inherit' });
  const created = await ensureSwarm();
  return async () => {
    if (created) await leaveSwarm();
  };
}
