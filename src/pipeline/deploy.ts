import type { Release } from '../store/store.js';
import { converge, type ConvergeOptions, type Convergence } from './converge.js';
import type { PipelineDeps } from './deps.js';
import type { Progress } from '../output/progress.js';

/**
 * Starts every process of the release per the app's formation, marks it
 * current once all are ready, switches traffic, and stops the old instances.
 */
export async function deploy(
  deps: PipelineDeps,
  rel: Release,
  progress: Progress,
  signal: AbortSignal,
  verify?: ConvergeOptions['verify'],
  beforeStart?: ConvergeOptions['beforeStart'],
): Promise<Convergence> {
  const previous = deps.store.apps.find(rel.app)?.currentRelease ?? null;
  let marked = false;
  try {
    return await converge(deps, rel, {
      replace: 'all',
      progress,
      signal,
      verify,
      beforeStart,
      beforeSwitch: () => {
        deps.store.transaction(() => {
          deps.store.releases.setStatus(rel.app, rel.version, 'deployed');
          deps.store.apps.setCurrentRelease(rel.app, rel.version);
        });
        marked = true;
      },
    });
  } catch (err) {
    // The switch failed after the record moved: the old release still serves, so it is current again.
    if (marked) deps.store.apps.setCurrentRelease(rel.app, previous);
    throw err;
  }
}
