import { serviceResourceName } from '../domain/backing-service.js';
import { healthcheckOf } from './overlay.js';
import { planFormation, type ProcessPlan } from '../domain/formation.js';
import type { DeployOptions, FormationSpec, Instance, ProcessSpec, Rollout, VolumeMount } from '../runtime/runtime.js';
import { volumeName } from '../domain/storage.js';
import type { Release } from '../domain/entities.js';
import type { PipelineDeps } from './deps.js';
import type { Progress } from '../output/progress.js';
import { holdRequests, letRequestsGo } from './hold.js';
import { switchTraffic } from './route.js';
import { findFreePort } from '../runtime/free-port.js';
import { withTimeout } from './timeout.js';
import { DeployFailedError } from '../errors.js';

export interface ConvergeOptions {
  /** Process types whose running instances are replaced by fresh ones ('all' for a new release or a restart). */
  replace: readonly string[] | 'all';
  /** Checks the new instances once they are ready and before anything switches (a stack's verify image and health entries); throwing rejects them. */
  verify?: (started: readonly Instance[]) => Promise<void>;
  /** Called once the new instances are ready, just before traffic switches (a rollout marks its release current here). */
  beforeSwitch?: () => void;
  /** In a single-writer handover, run once the old instances have stopped and before the new start (the release phase). */
  beforeStart?: (signal: AbortSignal) => Promise<void>;
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
  const formation = formationOf(deps, rel);
  if (needsHandover(deps, rel, options.replace)) return handover(deps, rel, formation, options);
  const { progress } = options;
  const rollout = await progress.time('instances', () =>
    deps.runtime.for(rel.app).deploy(rel.app, formation, {
      ...deployBase(deps, progress),
      replace: options.replace,
      drainSeconds: deps.config.drainSeconds,
      signal: options.signal,
      check: options.verify,
    }),
  );
  try {
    options.beforeSwitch?.();
    await progress.time('switch', () => switchTraffic(deps, rel.app, rollout.upstreams));
  } catch (err) {
    await rollout.abort();
    throw err;
  }
  // Traffic is on the new instances now: an old one that will not stop is a leftover to report, not a failed deploy.
  await progress
    .time('retire', () => rollout.retire())
    .catch((err: unknown) => {
      deps.log.error({ err, app: rel.app }, 'could not stop the replaced instances');
      options.progress.warn(`could not stop every replaced instance: ${(err as Error).message}`);
    });
  return { started: rollout.started, stopped: rollout.retiring, web: rollout.instances.filter((i) => i.process === 'web') };
}

/** The release's process types as the app's runtime takes them: each with its count (none when the app is stopped). */
function formationOf(deps: Pick<PipelineDeps, 'config' | 'store'>, rel: Release): FormationSpec[] {
  const plan: ProcessPlan[] = deps.store.apps.find(rel.app)?.stopped ? [] : planFormation(rel.processes, deps.store.formation.list(rel.app));
  return plan.map((p) => ({ ...instanceSpec(deps, rel, p), quantity: p.quantity }));
}

/** What every deploy of the app's runtime gets: the ready timeout, where to tell, and the registry for an image this host lacks. */
function deployBase(deps: Pick<PipelineDeps, 'config' | 'registry'>, progress: Progress): Pick<DeployOptions, 'readyTimeoutMs' | 'progress' | 'ensureImage'> {
  return {
    readyTimeoutMs: deps.config.readyTimeoutMs,
    progress,
    // Scaling or a rollback on a host that does not have the image: the registry has it.
    ensureImage: async (image) => {
      if (deps.registry) await deps.registry.ensure(image, progress);
    },
  };
}

/** What every instance of one process type of the release runs with; only web gets a port and a health check. */
function instanceSpec(deps: Pick<PipelineDeps, 'config' | 'store'>, rel: Release, p: ProcessPlan): Omit<ProcessSpec, 'index'> {
  const web = p.process === 'web';
  return {
    app: rel.app,
    ...appIdentity(deps, rel.app),
    release: rel.version,
    process: p.process,
    image: rel.image,
    command: p.command,
    env: rel.config,
    port: web ? (rel.port ?? deps.config.appPort) : null,
    ...processLimits(deps, p),
    healthcheck: web ? healthcheckOf(deps, rel) : null,
    mounts: appMounts(deps, rel.app, p.process),
    networks: appNetworks(deps, rel.app),
    node: deps.store.apps.find(rel.app)?.node ?? null,
  };
}

/** The networks of the app's linked services: every container of the app joins them (instances, one-offs, the release phase). */
export function appNetworks(deps: Pick<PipelineDeps, 'store'>, app: string): string[] {
  return deps.store.backingServices.links({ app }).map((l) => serviceResourceName({ name: l.service, id: l.serviceId }));
}

/**
 * The app's storage as a container of it mounts it: every instance, one-off
 * and release phase; a single-writer volume only web (at scale 1) of the
 * instances.
 */
export function appMounts(deps: Pick<PipelineDeps, 'store'>, app: string, process?: string): VolumeMount[] {
  return deps.store.mounts
    .list(app)
    .filter((m) => !m.singleWriter || process === undefined || process === 'web')
    .map((m) => ({ volume: volumeName(m.from ?? app, m.name), path: m.path }));
}

/** Whether replacing these types of the release takes a handover: web runs, is replaced, and has a single-writer volume. */
export function needsHandover(deps: Pick<PipelineDeps, 'store'>, rel: Release, replace: readonly string[] | 'all'): boolean {
  if (!(replace === 'all' || replace.includes('web')) || !deps.store.mounts.list(rel.app).some((m) => m.singleWriter)) return false;
  return (
    !deps.store.apps.find(rel.app)?.stopped &&
    planFormation(rel.processes, deps.store.formation.list(rel.app)).some((p) => p.process === 'web' && p.quantity > 0)
  );
}

/** The longest a handover waits for the requests the old instances took before the hold; they are counted, not waited for blindly. */
const HANDOVER_DRAIN_MS = 2000;
/**
 * The shortest: a request the router's previous config accepted just before
 * the hold is not counted until it reaches the upstream's proxy, and fails if
 * the old instance stops first (a CI run lost 3 requests with no floor).
 */
const HANDOVER_DRAIN_FLOOR_MS = 200;
const DRAIN_POLL_MS = 10;

/**
 * Waits until the router has no request on its way to the app's upstreams
 * (those it took before the hold; new ones wait in the hold), at least
 * HANDOVER_DRAIN_FLOOR_MS and at most HANDOVER_DRAIN_MS. A router that
 * cannot count gets the whole wait.
 */
async function drainRequests(deps: Pick<PipelineDeps, 'router' | 'store' | 'clock' | 'log'>, app: string): Promise<void> {
  const upstreams = deps.store.routes.get(app) ?? [];
  if (upstreams.length === 0) return;
  await deps.clock.sleep(HANDOVER_DRAIN_FLOOR_MS);
  for (let waited = HANDOVER_DRAIN_FLOOR_MS; waited < HANDOVER_DRAIN_MS; waited += DRAIN_POLL_MS) {
    try {
      if ((await deps.router.requestsInFlight(upstreams)) === 0) return;
    } catch (err) {
      deps.log.warn({ err, app }, 'could not count the requests in flight; the handover waits the whole drain');
      return deps.clock.sleep(HANDOVER_DRAIN_MS - waited);
    }
    await deps.clock.sleep(DRAIN_POLL_MS);
  }
}

/**
 * A deploy that never has two containers with a single-writer volume: the
 * router holds the app's requests (they wait), the old instances stop, the
 * release phase runs, the new ones start and are checked, traffic switches,
 * and the held requests go. Bounded by SKIFF_HOLD_SECONDS: past it, or on
 * any failure, the release that ran before is started again, and the held
 * requests go to it. Within a pause, the pause keeps holding them.
 */
async function handover(deps: PipelineDeps, rel: Release, formation: FormationSpec[], options: ConvergeOptions): Promise<Convergence> {
  const { store, config } = deps;
  const app = rel.app;
  const runtime = deps.runtime.for(app);
  const port = await findFreePort('127.0.0.1');
  const common = { ...deployBase(deps, options.progress), drainSeconds: 0 };
  const servingVersion = store.apps.find(app)?.currentRelease ?? null;
  const serving = servingVersion === null ? undefined : store.releases.find(app, servingVersion);
  // The hold lasts a little longer than the bound, so that a restore after it still reaches the held requests.
  const own = await options.progress.time('hold', () => holdRequests(deps, app, 'handover', new Date(Date.now() + config.holdSeconds * 2000)));
  options.progress.info(`Holding requests to ${app} (at most ${config.holdSeconds}s) while its single-writer storage changes hands`);
  const started = Date.now();
  // Requests the old instances took before the hold finish first; new ones wait.
  await options.progress.time('drain', () => drainRequests(deps, app));
  const bounded = withTimeout(options.signal, config.holdSeconds * 1000);
  let rollout: Rollout | undefined;
  try {
    rollout = await options.progress.time('instances', () =>
      runtime.deploy(app, formation, {
        ...common,
        replace: 'all',
        signal: bounded.signal,
        check: options.verify,
        handover: { port, beforeStart: options.beforeStart },
      }),
    );
    options.beforeSwitch?.();
    const { upstreams } = rollout;
    await options.progress.time('switch', () => switchTraffic(deps, app, upstreams));
  } catch (err) {
    await rollout?.abort();
    if (serving) {
      options.progress.warn(`Starting v${serving.version} again`);
      try {
        const back = await runtime.deploy(app, formationOf(deps, serving), {
          ...common,
          replace: 'all',
          signal: new AbortController().signal,
          handover: { port },
        });
        await switchTraffic(deps, app, back.upstreams);
        await back.retire();
      } catch (restoreErr) {
        deps.log.error({ err: restoreErr, app }, 'could not start the previous release again after a failed handover');
      }
    } else {
      await switchTraffic(deps, app, []).catch(() => undefined);
    }
    if (own) await letRequestsGo(deps, app).catch((releaseErr: unknown) => deps.log.error({ err: releaseErr, app }, 'could not release the held requests'));
    if (bounded.timedOut()) {
      throw new DeployFailedError(
        `the handover took longer than SKIFF_HOLD_SECONDS (${config.holdSeconds} s)${serving ? `; v${serving.version} is serving again` : ''}`,
        err,
      );
    }
    throw err;
  }
  const held = ((Date.now() - started) / 1000).toFixed(1);
  if (own) await options.progress.time('release hold', () => letRequestsGo(deps, app));
  options.progress.info(`Held requests for ${held}s${own ? '' : `; ${app} is paused, so they wait for ps:resume`}`);
  // The old instances stopped before the new started; the engine may still be removing them.
  await options.progress
    .time('retire', () => rollout.retire())
    .catch((err: unknown) => {
      deps.log.error({ err, app }, 'could not remove the replaced instances');
      options.progress.warn(`could not remove every replaced instance: ${(err as Error).message}`);
    });
  return { started: rollout.started, stopped: rollout.retiring, web: rollout.instances.filter((i) => i.process === 'web') };
}

/**
 * A process type's limits: those resources:set gave it, else the defaults
 * every container gets (a memory ceiling, a pids limit). A one-off gets the
 * limits of the type it stands in for (web, unless it says otherwise).
 */
export function processLimits(
  deps: Pick<PipelineDeps, 'config'>,
  entry: { memory: number | null; cpus: number | null } | undefined,
): {
  memory: number;
  cpus: number | null;
  pids: number;
} {
  return { memory: entry?.memory ?? deps.config.defaultMemory, cpus: entry?.cpus ?? null, pids: deps.config.pidsLimit };
}

/** The limits of a one-off that stands in for a process type of the app. */
/** The app's identity for the specs of its containers: labelled skiff.app-id beside its name. */
export function appIdentity(deps: Pick<PipelineDeps, 'store'>, app: string): { appId?: string } {
  const id = deps.store.apps.find(app)?.id;
  return id === undefined ? {} : { appId: id };
}

export function oneOffLimits(deps: Pick<PipelineDeps, 'config' | 'store'>, app: string, process = 'web'): ReturnType<typeof processLimits> {
  return processLimits(
    deps,
    deps.store.formation.list(app).find((f) => f.process === process),
  );
}

/** Stops whatever of the app runs (an app with no release that still has instances, after a crash). */
export async function stopAll(deps: PipelineDeps, app: string, progress: Progress): Promise<Instance[]> {
  const rollout = await deps.runtime
    .for(app)
    .deploy(app, [], { ...deployBase(deps, progress), replace: 'all', drainSeconds: 0, signal: new AbortController().signal });
  await rollout.retire();
  return rollout.retiring;
}
