import { RELEASE_PHASE } from '../domain/formation.js';
import { pipelineOf } from '../access/policy.js';
import type { Overlay, Stage } from '../domain/pipeline.js';
import { InvalidError } from '../errors.js';
import type { Progress } from '../output/progress.js';
import type { Release } from '../domain/entities.js';
import type { PipelineDeps } from './deps.js';

/** The part of skiff.yml's environments: for the stage the app is at in its pipeline, if any. */
export function overlayOf(deps: Pick<PipelineDeps, 'store'>, rel: Pick<Release, 'app' | 'environments'>): { stage: Stage; overlay: Overlay } | undefined {
  const stage = pipelineOf(deps.store, rel.app)?.stage;
  const overlay = stage && rel.environments[stage];
  return stage && overlay ? { stage, overlay } : undefined;
}

/** The health check web instances of the release must pass: the stage's, else skiff.yml's own. */
export function healthcheckOf(deps: Pick<PipelineDeps, 'store'>, rel: Release): string | null {
  return overlayOf(deps, rel)?.overlay.healthcheck ?? rel.healthcheck;
}

/**
 * Each release of an app at a pipeline stage sets that stage's scale and
 * limits (skiff.yml's environments:) in the app's formation before its
 * instances start; ps:scale and resources:set change them until the next
 * release. Returns what puts the record back if the release fails.
 */
export function applyOverlay(deps: Pick<PipelineDeps, 'store'>, rel: Release, progress: Progress): (() => void) | undefined {
  const found = overlayOf(deps, rel);
  if (!found || (!found.overlay.scale && !found.overlay.resources)) return undefined;
  const { stage, overlay } = found;
  const types = Object.keys(rel.processes).filter((t) => t !== RELEASE_PHASE);
  const named = [...Object.keys(overlay.scale ?? {}), ...Object.keys(overlay.resources ?? {})];
  const unknown = [...new Set(named.filter((t) => !types.includes(t)))];
  if (unknown.length)
    throw new InvalidError(`skiff.yml: environments.${stage} names ${unknown.join(', ')}, which the Procfile does not run (it has ${types.join(', ')})`);
  const single = deps.store.mounts.list(rel.app).find((m) => m.singleWriter);
  if (single && (overlay.scale?.web ?? 0) > 1)
    throw new InvalidError(
      `skiff.yml: environments.${stage}.scale.web is ${overlay.scale?.web}, but web mounts ${single.name}, a single-writer volume: one instance at most`,
    );
  const before = deps.store.formation.list(rel.app);
  const was = (type: string): (typeof before)[number] | undefined => before.find((f) => f.process === type);
  if (overlay.scale) deps.store.formation.setQuantities(rel.app, overlay.scale);
  for (const [type, limits] of Object.entries(overlay.resources ?? {})) deps.store.formation.setResources(rel.app, type, limits);
  const said = [
    ...Object.entries(overlay.scale ?? {}).map(([t, n]) => `${t}=${n}`),
    ...Object.entries(overlay.resources ?? {}).map(
      ([t, l]) => `${t} ${[l.memory ? `memory ${l.memory / 1024 / 1024}m` : '', l.cpus ? `cpus ${l.cpus}` : ''].filter(Boolean).join(', ')}`,
    ),
  ];
  progress.info(`${stage} environment (skiff.yml): ${said.join('; ')}`);
  return () => {
    if (overlay.scale) deps.store.formation.setQuantities(rel.app, Object.fromEntries(Object.keys(overlay.scale).map((t) => [t, was(t)?.quantity ?? null])));
    for (const type of Object.keys(overlay.resources ?? {}))
      deps.store.formation.setResources(rel.app, type, { memory: was(type)?.memory ?? null, cpus: was(type)?.cpus ?? null });
  };
}
