import { setTimeout as sleep } from 'node:timers/promises';
import { planFormation, type ProcessPlan } from '../domain/formation.js';
import type { FormationSpec, Instance, ProcessSpec, Runtime } from '../runtime/runtime.js';
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
 * count of each process type, with its limits. New instances start and must
 * be ready first; then traffic switches to the web instances; then, after a
 * drain, everything else of the app stops. If any new instance fails, the
 * ones started are removed and nothing else changed.
 */
export async function converge(deps: PipelineDeps, rel: Release, options: ConvergeOptions): Promise<Convergence> {
  const { runtime, store, config } = deps;
  const app = store.apps.find(rel.app);
  const plan: ProcessPlan[] = app?.stopped ? [] : planFormation(rel.processes, store.formation.list(rel.app));
  const replacing = (process: string): boolean => options.replace === 'all' || options.replace.includes(process);
  const appRuntime = runtime.for(rel.app);
  if (appRuntime.rollout) return convergeRolling(deps, rel, plan, appRuntime, options);
  const current = await runtime.status(rel.app);

  const keep: Instance[] = [];
  const wanted: ProcessSpec[] = [];
  for (const p of plan) {
    for (let index = 1; index <= p.quantity; index++) {
      const existing = replacing(p.process)
        ? undefined
        : current.find((i) => i.release === rel.version && i.process === p.process && i.index === index && i.state === 'running');
      if (existing) keep.push(existing);
      else wanted.push({ ...instanceSpec(deps, rel, p), index });
    }
  }

  // One at a time: each picks its own free port, and a failure stops the rest.
  const started: Instance[] = [];
  try {
    // Scaling or a rollback on a host that does not have the image: the registry has it.
    if (wanted.length && deps.registry) await deps.registry.ensure(rel.image, options.progress);
    for (const spec of wanted) {
      const instance = await runtime.start(spec, { readyTimeoutMs: config.readyTimeoutMs, progress: options.progress, signal: options.signal });
      options.progress.info(`${spec.process}.${spec.index} ${spec.process === 'web' ? 'answers HTTP' : 'is up'}`);
      started.push(instance);
    }
    await options.verify?.(started);
    const web = [...keep, ...started].filter((i) => i.process === 'web' && i.hostPort !== undefined);
    options.beforeSwitch?.();
    await switchTraffic(deps, rel.app, web.map((i) => `127.0.0.1:${i.hostPort}`));
    const stopping = current.filter((i) => !keep.some((k) => k.id === i.id));
    // Requests already on their way to a retiring web instance get time to finish.
    if (stopping.some((i) => i.process === 'web' && i.state === 'running') && config.drainSeconds > 0) {
      await sleep(config.drainSeconds * 1000);
    }
    await runtime.stop(stopping);
    return { started, stopped: stopping, web };
  } catch (err) {
    await runtime.stop(started).catch((e: unknown) => deps.log.error({ err: e, app: rel.app }, 'could not remove new instances'));
    throw err;
  }
}

/** What every instance of one process type of the release runs with; only web gets a port and a health check. */
function instanceSpec(deps: Pick<PipelineDeps, 'config'>, rel: Release, p: ProcessPlan): Omit<ProcessSpec, 'index'> {
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
  };
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

/**
 * For a runtime whose engine rolls out by itself (swarm): it gets the whole
 * formation, replaces tasks new-first, and rolls back on its own when the new
 * ones fail; then traffic is pointed at what it says. The release is current
 * once the engine has it running.
 */
async function convergeRolling(deps: PipelineDeps, rel: Release, plan: ProcessPlan[], runtime: Runtime, options: ConvergeOptions): Promise<Convergence> {
  const formation: FormationSpec[] = plan.map((p) => ({ ...instanceSpec(deps, rel, p), quantity: p.quantity }));
  const web = plan.find((p) => p.process === 'web' && p.quantity > 0);
  if (options.verify && web) {
    // The engine sends traffic to new tasks as soon as they are healthy, so checks run first, on
    // one instance of the release started on this host, which is removed afterwards.
    options.progress.info('Starting a canary web instance on this host for the checks');
    const containers = deps.runtime.named('docker');
    if (deps.registry) await deps.registry.ensure(rel.image, options.progress);
    const canary = await containers.start({ ...instanceSpec(deps, rel, web), index: 0 }, { readyTimeoutMs: deps.config.readyTimeoutMs, progress: options.progress, signal: options.signal });
    try {
      await options.verify([canary]);
    } finally {
      await containers.stop([canary]);
    }
  }
  const result = await (runtime.rollout as NonNullable<Runtime['rollout']>)(rel.app, formation, {
    readyTimeoutMs: deps.config.readyTimeoutMs,
    progress: options.progress,
    signal: options.signal,
    restart: options.replace,
  });
  options.beforeSwitch?.();
  await switchTraffic(deps, rel.app, result.upstreams);
  return { started: result.instances, stopped: [], web: result.instances.filter((i) => i.process === 'web') };
}
