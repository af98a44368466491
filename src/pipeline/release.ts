import { releaseImageTag } from '../domain/names.js';
import type { Release } from '../store/store.js';
import type { Processes } from '../domain/procfile.js';
import type { PipelineDeps } from './deps.js';

export interface ReleaseRequest {
  app: string;
  /** The image to release: a fresh build, or an earlier release's image (config change, rollback). */
  image: string;
  commit: string;
  buildId: number | null;
  pusher: string;
  description: string;
  config: Record<string, string>;
  processes: Processes;
  healthcheck: string | null;
  /** The port web instances listen on; null: SKIFF_APP_PORT. */
  port: number | null;
  /** Drop the source tag once the release has its own (true for build tags). */
  dropSourceTag: boolean;
}

/** Records release vN as pending and gives its image the release's own tag. */
export async function release(deps: Pick<PipelineDeps, 'store' | 'images'>, req: ReleaseRequest): Promise<Release> {
  const pending = deps.store.releases.create(
    {
      app: req.app,
      commit: req.commit,
      buildId: req.buildId,
      pusher: req.pusher,
      description: req.description,
      config: req.config,
      processes: req.processes,
      healthcheck: req.healthcheck,
      port: req.port,
    },
    (version) => releaseImageTag(req.app, version),
  );
  await deps.images.tag(req.image, pending.image);
  if (req.dropSourceTag) await deps.images.untag(req.image);
  return pending;
}

/** A release that never went live: marked failed, its tag dropped (the image goes with it unless cached layers hold it). */
export async function abandonRelease(deps: Pick<PipelineDeps, 'store' | 'images'>, app: string, version: number): Promise<void> {
  deps.store.releases.setStatus(app, version, 'failed');
  await deps.images.untag(releaseImageTag(app, version));
}
