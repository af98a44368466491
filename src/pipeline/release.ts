import { releaseImageTag } from '../domain/names.js';
import type { Release } from '../domain/entities.js';
import type { PipelineDeps } from './deps.js';
import type { Progress } from '../output/progress.js';

/**
 * What a new release is made of: a release's own fields but those the store
 * gives it (version, status, time). Its image is the one to release: a fresh
 * build, or an earlier release's (config change, rollback).
 */
export interface ReleaseRequest extends Omit<Release, 'version' | 'status' | 'createdAt'> {
  /** Drop the source tag once the release has its own (true for build tags). */
  dropSourceTag: boolean;
}

/** A new release of an earlier one's image, commit, processes and checks: what a config change, a restart with pending config and a rollback start from. */
export function releaseOf(rel: Release): Omit<ReleaseRequest, 'pusher' | 'description'> {
  return {
    app: rel.app,
    image: rel.image,
    commit: rel.commit,
    buildId: rel.buildId,
    config: rel.config,
    processes: rel.processes,
    healthcheck: rel.healthcheck,
    cron: rel.cron,
    scripts: rel.scripts,
    environments: rel.environments,
    port: rel.port,
    dropSourceTag: false,
  };
}

/**
 * Records release vN as pending and gives its image the release's own tag.
 * With a registry, the tag is REGISTRY/APP:vN (and REGISTRY/APP:COMMIT), and
 * both are pushed before anything runs: a registry that refuses fails the
 * release while the previous one keeps serving.
 */
export async function release(
  deps: Pick<PipelineDeps, 'store' | 'images' | 'registry'>,
  req: ReleaseRequest,
  progress: Progress,
  signal: AbortSignal,
): Promise<Release> {
  const { registry } = deps;
  // A rollback or config change on another host may need the earlier image first.
  if (registry) await registry.ensure(req.image, progress);
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
      cron: req.cron,
      scripts: req.scripts,
      environments: req.environments,
      port: req.port,
    },
    (version) => (registry ? registry.releaseImage(req.app, version) : releaseImageTag(req.app, version)),
  );
  try {
    await deps.images.tag(req.image, pending.image);
    if (registry) {
      const commitTag = registry.commitImage(req.app, req.commit);
      await deps.images.tag(pending.image, commitTag);
      await progress.time('image push', () => registry.push([pending.image, commitTag], progress, signal));
      // The commit tag lives on in the registry; locally the release tag is enough.
      await deps.images.untag(commitTag);
    }
  } catch (err) {
    await abandonRelease(deps, req.app, pending.version).catch(() => undefined);
    if (req.dropSourceTag) await deps.images.untag(req.image).catch(() => undefined);
    throw err;
  }
  if (req.dropSourceTag) await deps.images.untag(req.image);
  return pending;
}

/** A release that never went live: marked failed, its tag dropped (the image goes with it unless cached layers hold it). */
export async function abandonRelease(deps: Pick<PipelineDeps, 'store' | 'images'>, app: string, version: number): Promise<void> {
  deps.store.releases.setStatus(app, version, 'failed');
  const image = deps.store.releases.find(app, version)?.image;
  if (image) await deps.images.untag(image);
}
