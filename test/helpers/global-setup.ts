import { execa } from 'execa';
import { ensureSwarm, leaveSwarm } from './swarm.js';

/**
 * Before any test: the project's own set-up (builds dist/, which the
 * end-to-end tests run, and makes the base image every docker test builds
 * FROM; both are cached, so a second run costs little). The engine becomes a
 * single-node swarm on loopback for the swarm runtime's tests, once for all
 * test files, and leaves it afterwards if it was none before.
 */
export default async function setup(): Promise<() => Promise<void>> {
  await execa('bash', ['scripts/setup.sh', '--test'], { stdio: 'inherit' });
  const created = await ensureSwarm();
  return async () => {
    if (created) await leaveSwarm();
  };
}
