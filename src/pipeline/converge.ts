import { planFormation, type ProcessPlan } from '../domain/formation.js';
import type { FormationSpec, Instance, ProcessSpec, VolumeMount } from '../runtime/runtime.js';
import { volumeName } from '../domain/storage.js';
import type { Release } from '../store/store.js';
import type { PipelineDeps } from './deps.js';
import type { Progress } from '../output/progress.js';
import { switchTraffic } from './route.js';

export interface ConvergeOptions {
  /** Process types whose running instances are replaced by fresh ones ('all' for a new release or a restart). */
  replace: readonly string[] | 'all';
  /** Checks the new instances once they are ready and before anything switches (a stack's verify image and health entries); throwing rejects them. */
  verify?: (started: readonly Instance[]) => Promise<void>;
  /** Called once the new instances are ready, just before traffic switches (a rollout marks its release current here). */
  beforeSwitch?: () => void;
  progress: Progress;
  signal: AbortSignal;
}

export interface Convergence {
  started: Instance[];
  stopped: Instance[];
  web: Instance[];
}

/**
 * Makes what runs match what is recorded for the release: the formation's
 * count of each process type, with its limits. The app's runtime starts the
 * new instances (ready and checked first); then traffic switches to them;
 * then what they replace retires. If anything fails before the switch holds,
 * the rollout is aborted and what ran before still runs and serves.
 */
export async function converge(deps: PipelineDeps, rel: Release, options: ConvergeOptions): Promise<Convergence> {
  const { store, config } = deps;
  const app = store.apps.find(rel.app);
  const plan: ProcessPlan[] = app?.stopped ? [] : planFormation(rel.processes, store.formation.list(rel.app));
  const formation: FormationSpec[] = plan.map((p) => ({ ...instanceSpec(deps, rel, p), quantity: p.quantity }));
  const rollout = await deps.runtime.for(rel.app).deploy(rel.app, formation, {
    replace: options.replace,
    readyTimeoutMs: config.readyTimeoutMs,
    drainSeconds: config.drainSeconds,
    progress: options.progress,
    signal: options.signal,
    // Scaling or a rollback on a host that does not have the image: the registry has it.
    ensureImage: async (image) => {
      if (deps.registry) await deps.registry.ensure(image, options.progress);
    },
    check: options.verify,
  });
  try {
    options.beforeSwitch?.();
    await switchTraffic(deps, rel.app, rollout.upstreams);
  } catch (err) {
    await rollout.abort();
    throw err;
  }
  // Traffic is on the new instances now: an old one that will not stop is a leftover to report, not a failed deploy.
  await rollout.retire().catch((err: unknown) => {
    deps.log.error({ err, app: rel.app }, 'could not stop the replaced instances');
    options.progress.warn(`could not stop every replaced instance: ${(err as Error).message}`);
  });
  return { started: rollout.started, stopped: rollout.retiring, web: rollout.instances.filter((i) => i.process === 'web') };
}

/** What every instance of one process type of the release runs with; only web gets a port and a health check. */
function instanceSpec(deps: Pick<PipelineDeps, 'config' | 'store'>, rel: Release, p: ProcessPlan): Omit<ProcessSpec, 'index'> {
  const web = p.process === 'web';
  return {
    app: rel.app,
    release: rel.version,
    process: p.process,
    image: rel.image,
    command: p.command,
    env: rel.config,
    port: web ? (rel.port ?? deps.config.appPort) : null,
    ...processLimits(deps, p),
    healthcheck: web ? rel.healthcheck : null,
    mounts: appMounts(deps, rel.app),
  };
}

/** The app's storage, as every container of it (instances, one-offs, the release phase) mounts it. */
export function appMounts(deps: Pick<PipelineDeps, 'store'>, app: string): VolumeMount[] {
  return deps.store.mounts.list(app).map((m) => ({ volume: volumeName(app, m.name), path: m.path }));
}

/**
 * A process type's limits: those resources:set gave it, else the defaults
 * every container gets (a memory ceiling, a pids limit). A one-off gets the
 * limits of the type it stands in for (web, unless it says otherwise).
 */
export function processLimits(deps: Pick<PipelineDeps, 'config'>, entry: { memory: number | null; cpus: number | null } | undefined): {
  memory: number;
  cpus: number | null;
  pids: number;
} {
  return { memory: entry?.memory ?? deps.config.defaultMemory, cpus: entry?.cpus ?? null, pids: deps.config.pidsLimit };
}

/** The limits of a one-off that stands in for a process type of the app. */
export function oneOffLimits(deps: Pick<PipelineDeps, 'config' | 'store'>, app: string, process = 'web'): ReturnType<typeof processLimits> {
  return processLimits(deps, deps.store.formation.list(app).find((f) => f.process === process));
}

/** Stops whatever of the app runs (an app with no release that still has instances, after a crash). */
export async function stopAll(deps: PipelineDeps, app: string, progress: Progress): Promise<Instance[]> {
  const rollout = await deps.runtime.for(app).deploy(app, [], {
    replace: 'all',
    readyTimeoutMs: deps.config.readyTimeoutMs,
    drainSeconds: 0,
    progress,
    signal: new AbortController().signal,
    ensureImage: async () => {},
  });
  await rollout.retire();
  return rollout.retiring;
}
