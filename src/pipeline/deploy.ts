/**
 * The deploy stage: release → release phase → deploy → route, what a push,
 * a config change and a rollback have in common.
 */
import type { Release } from '../domain/entities.js';
import type { PipelineDeps } from './deps.js';
import { stage, type Progress } from '../output/progress.js';
import { pruneReleaseImages } from './prune.js';
import { notifyWebhooks, releaseNotice } from './notify.js';
import { abandonRelease, release, type ReleaseRequest } from './release.js';
import { appUrl } from './route.js';
import { converge, needsHandover, type ConvergeOptions, type Convergence } from './converge.js';
import { resolveAppStack } from '../access/policy.js';
import { verifyInstances, type StackChecks } from './verify.js';
import { releasePhaseCommands, runAfterDeploy, runReleasePhase } from './release-phase.js';
import { applyOverlay } from './overlay.js';

/** A stackfile stack's checks for a new release of the app; none for other apps. */
function stackChecks(deps: PipelineDeps, app: string, codebase: string | null): StackChecks | undefined {
  const record = deps.store.apps.find(app);
  const stack = record && resolveAppStack(deps.store, record);
  return stack?.kind === 'stackfile' ? { stack: stack.definition, codebase } : undefined;
}

function summarize(c: Convergence): string {
  const olds = [...new Set(c.stopped.map((i) => `v${i.release}`))];
  const now = c.started.length ? `${c.started.length} instance${c.started.length === 1 ? '' : 's'} ready` : 'nothing to start';
  return olds.length ? `${now}; stopped ${olds.join(', ')}` : now;
}

/** What a rollout ends with: the release that now serves, and where. */
export interface Released {
  release: Release;
  url: string;
}

/**
 * release → release phase → deploy (which routes): what a push, a config
 * change and a rollback have in common. The Procfile's release command runs
 * once, before any new instance, unless the caller skips it (releasePhase:
 * false, from --no-release-phase). The new release runs and answers before traffic
 * moves to it and the old one stops; if it never answers it is abandoned and
 * the old one keeps serving.
 */
export async function rollout(
  deps: PipelineDeps,
  req: ReleaseRequest,
  progress: Progress,
  signal: AbortSignal,
  options: { codebase?: string; releasePhase?: boolean } = {},
): Promise<Released> {
  let version: number | undefined;
  let undoOverlay: (() => void) | undefined;
  try {
    const checks = stackChecks(deps, req.app, options.codebase ?? null);
    const rel = await stage(
      progress,
      'Releasing',
      () => release(deps, req, progress, signal),
      (r) => `Release v${r.version}: ${r.description}`,
    );
    version = rel.version;
    undoOverlay = applyOverlay(deps, rel, progress);
    const firstDeploy = deps.store.apps.find(rel.app)?.currentRelease === null;
    const command =
      releasePhaseCommands(rel)
        .map((c) => c.command)
        .join('; then ') || undefined;
    if (command !== undefined && options.releasePhase === false) progress.info(`Release phase skipped (${command}): asked for with --no-release-phase`);
    const phase =
      command !== undefined && options.releasePhase !== false
        ? (within: AbortSignal) =>
            stage(
              progress,
              `Running the release phase: ${command}`,
              () => runReleasePhase(deps, rel, progress, within),
              () => 'Done',
            )
        : undefined;
    // With a single-writer volume the release phase may use it only once the old instances have let go of it.
    const handingOver = needsHandover(deps, rel, 'all');
    if (phase && !handingOver) await phase(signal);
    const result = await stage(
      progress,
      `Starting v${rel.version}`,
      () =>
        deploy(
          deps,
          rel,
          progress,
          signal,
          checks && ((started) => verifyInstances(deps, rel.app, checks, started, progress, signal)),
          handingOver ? phase : undefined,
        ),
      (c) => summarize(c),
    );
    await progress.time('prune', () => pruneReleaseImages(deps, rel.app)).catch((err: unknown) => deps.log.warn({ err, app: rel.app }, 'prune failed'));
    const url = result.web.length ? appUrl(deps, rel.app) : `(no web process running; ps:scale ${rel.app} web=1 to serve)`;
    progress.step(`Released v${rel.version}: ${url}`);
    if (rel.scripts.postdeploy !== null) await afterDeploy(deps, rel, "app.json's dokku postdeploy", rel.scripts.postdeploy, progress, signal);
    if (rel.scripts.firstDeploy !== null && firstDeploy)
      await afterDeploy(deps, rel, "app.json's postdeploy (the app's first deploy)", rel.scripts.firstDeploy, progress, signal);
    await notifyWebhooks(deps, rel.app, releaseNotice(deps, rel, req.pusher));
    deps.log.info({ app: rel.app, release: rel.version }, 'released');
    return { release: rel, url };
  } catch (err) {
    undoOverlay?.();
    if (version !== undefined) {
      await abandonRelease(deps, req.app, version).catch((e: unknown) => deps.log.error({ err: e, app: req.app }, 'abandon failed'));
    }
    throw err;
  }
}

/**
 * A command run after the release serves (app.json's postdeploy scripts):
 * too late to refuse the release, so a failure is told and logged, and the
 * release keeps serving.
 */
async function afterDeploy(deps: PipelineDeps, rel: Release, label: string, command: string, progress: Progress, signal: AbortSignal): Promise<void> {
  progress.step(`Running ${label}: ${command}`);
  try {
    const status = await runAfterDeploy(deps, rel, command, progress, signal);
    if (status === 0) progress.info('Done');
    else if (status === 'timed-out')
      progress.warn(`${label} ran past SKIFF_RELEASE_TIMEOUT (${deps.config.releaseTimeoutMs / 1000} s) and was stopped; v${rel.version} is serving`);
    else progress.warn(`${label} exited with status ${status}; v${rel.version} is serving`);
  } catch (err) {
    deps.log.error({ err, app: rel.app, release: rel.version }, 'after-deploy command failed');
    progress.warn(`${label} could not run: ${(err as Error).message}; v${rel.version} is serving`);
  }
}

/**
 * Starts every process of the release per the app's formation, marks it
 * current once all are ready, switches traffic, and stops the old instances.
 */
async function deploy(
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
