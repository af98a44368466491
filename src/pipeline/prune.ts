import type { PipelineDeps } from './deps.js';

/**
 * Keeps the images of the newest SKIFF_KEEP_RELEASES deployed releases (and
 * the current one) for rollback; drops the tags of the rest so the disk does
 * not fill up. Layers shared with kept images stay.
 */
export async function pruneReleaseImages(deps: Pick<PipelineDeps, 'store' | 'images' | 'config'>, app: string): Promise<number[]> {
  const current = deps.store.apps.find(app)?.currentRelease;
  const deployed = deps.store.releases.list(app).filter((r) => r.status === 'deployed');
  const dropped = deployed.slice(deps.config.keepReleases).filter((r) => r.version !== current);
  for (const r of dropped) await deps.images.untag(r.image);
  return dropped.map((r) => r.version);
}
