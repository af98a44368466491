import type { Instance } from '../runtime/runtime.js';
import type { Release } from '../store/store.js';
import type { PipelineDeps } from './deps.js';

/**
 * The switch: the new release becomes current, then the old instances stop.
 * Recorded first, so a crash between the two leaves the right release
 * current and the server's start-up retires the rest.
 */
export async function route(deps: Pick<PipelineDeps, 'store' | 'runtime'>, rel: Release): Promise<Instance[]> {
  deps.store.transaction(() => {
    deps.store.releases.setStatus(rel.app, rel.version, 'deployed');
    deps.store.apps.setCurrentRelease(rel.app, rel.version);
  });
  return deps.runtime.retire(rel.app, rel.version);
}
