import type { Instance } from '../runtime/runtime.js';
import type { Release } from '../store/store.js';
import type { PipelineDeps } from './deps.js';
import type { Progress } from './progress.js';

/** Starts the release's web process with its config and waits until it answers; on failure it is gone again. */
export async function deploy(
  deps: Pick<PipelineDeps, 'config' | 'runtime'>,
  rel: Release,
  progress: Progress,
  signal: AbortSignal,
): Promise<Instance> {
  return deps.runtime.deploy(
    { app: rel.app, release: rel.version, process: 'web', image: rel.image, env: rel.config, port: deps.config.appPort },
    { readyTimeoutMs: deps.config.readyTimeoutMs, progress, signal },
  );
}
