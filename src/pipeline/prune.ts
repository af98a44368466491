import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import type { PipelineDeps } from './deps.js';

/** Images destroyed apps left because others built on them: this Skiff's own, to try again (another Skiff may share the engine). */
const leftoversFile = (config: Pick<Config, 'home'>): string => path.join(config.home, 'leftover-images.json');

function readLeftovers(config: Pick<Config, 'home'>): string[] {
  try {
    return JSON.parse(fs.readFileSync(leftoversFile(config), 'utf8')) as string[];
  } catch {
    return [];
  }
}

function writeLeftovers(config: Pick<Config, 'home'>, ids: readonly string[]): void {
  const file = leftoversFile(config);
  if (ids.length === 0) return fs.rmSync(file, { force: true });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify([...new Set(ids)]), { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

export function recordLeftovers(config: Pick<Config, 'home'>, ids: readonly string[]): void {
  if (ids.length) writeLeftovers(config, [...readLeftovers(config), ...ids]);
}

/** Removes what it can of the images destroyed apps left (at start-up); keeps the rest for next time. */
export async function collectLeftovers(deps: Pick<PipelineDeps, 'images' | 'config'>): Promise<void> {
  const ids = readLeftovers(deps.config);
  if (ids.length) writeLeftovers(deps.config, await deps.images.remove(ids));
}

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
