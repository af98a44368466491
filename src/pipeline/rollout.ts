import type { Release } from '../store/store.js';
import type { PipelineDeps } from './deps.js';
import { deploy } from './deploy.js';
import { stage, type Progress } from './progress.js';
import { pruneReleaseImages } from './prune.js';
import { abandonRelease, release, type ReleaseRequest } from './release.js';
import { route } from './route.js';

export interface Rollout {
  release: Release;
  url: string;
}

/**
 * release → deploy → route: what a push, a config change and a rollback have
 * in common. The new release is running and answering before the old one
 * stops; if it never answers it is abandoned and the old one keeps serving.
 */
export async function rollout(deps: PipelineDeps, req: ReleaseRequest, progress: Progress, signal: AbortSignal): Promise<Rollout> {
  let version: number | undefined;
  try {
    const rel = await stage(progress, 'Releasing', () => release(deps, req), (r) => `Release v${r.version}: ${r.description}`);
    version = rel.version;
    const instance = await stage(
      progress,
      `Starting v${rel.version}`,
      () => deploy(deps, rel, progress, signal),
      (i) => `${i.name} answers HTTP`,
    );
    await stage(
      progress,
      'Switching traffic',
      () => route(deps, rel),
      (retired) => (retired.length ? `Stopped ${retired.map((r) => `v${r.release}`).join(', ')}` : 'First release'),
    );
    await pruneReleaseImages(deps, rel.app).catch((err: unknown) => deps.log.warn({ err, app: rel.app }, 'prune failed'));
    const url = `http://${deps.config.domain}:${instance.hostPort}/`;
    progress.step(`Released v${rel.version}: ${url}`);
    deps.log.info({ app: rel.app, release: rel.version }, 'released');
    return { release: rel, url };
  } catch (err) {
    if (version !== undefined) {
      await abandonRelease(deps, req.app, version).catch((e: unknown) => deps.log.error({ err: e, app: req.app }, 'abandon failed'));
    }
    throw err;
  }
}
