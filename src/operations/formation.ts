import { configOf } from '../pipeline/app-config.js';
import os from 'node:os';
import { RELEASE_PHASE, type FormationEntry } from '../domain/formation.js';
import { rollout } from '../pipeline/deploy.js';
import { releaseOf } from '../pipeline/release.js';
import { pendingKeys } from './config.js';
import { InvalidError } from '../errors.js';
import { getApp } from '../access/policy.js';
import type { Store } from '../store/store.js';
import type { App } from '../domain/entities.js';
import type { Instance } from '../runtime/runtime.js';
import { applyToRelease, withOpLock, type Op } from './operation.js';

/** A change of the formation record (scale, stop, start, limits, a restart), applied; on failure the formation goes back. */
function applyFormation(op: Op, app: App, purpose: string, replace: readonly string[] | 'all', change: () => void): Promise<Instance[] | undefined> {
  let before: FormationEntry[] = [];
  return applyToRelease(
    op,
    app.name,
    purpose,
    replace,
    () => {
      before = op.services.store.formation.list(app.name);
      change();
    },
    () => restoreFormation(op.services.store, app.name, before),
  );
}

function restoreFormation(store: Store, app: string, before: readonly FormationEntry[]): void {
  const now = store.formation.list(app);
  for (const entry of now) {
    const was = before.find((b) => b.process === entry.process);
    store.formation.setResources(app, entry.process, { memory: was?.memory ?? null, cpus: was?.cpus ?? null });
  }
  const counts = Object.fromEntries(before.filter((b) => b.quantity !== null).map((b) => [b.process, b.quantity as number]));
  if (Object.keys(counts).length) store.formation.setQuantities(app, counts);
}

/** ps:scale: counts per process type the current release has. */
export async function scale(op: Op, appName: string, counts: Record<string, number>): Promise<Instance[] | undefined> {
  const app = getApp(op.services, op.caller, appName);
  if (RELEASE_PHASE in counts)
    throw new InvalidError(`${RELEASE_PHASE} is the release phase: it runs once per release, before the new instances start, and is not scaled`);
  const single = op.services.store.mounts.list(app.name).find((m) => m.singleWriter);
  if (single && (counts.web ?? 0) > 1) throw new InvalidError(`web mounts ${single.name}, a single-writer volume: it runs one instance at most`);
  const rel = op.services.store.releases.current(app.name);
  const unknown = rel ? Object.keys(counts).filter((t) => !(t in rel.processes)) : [];
  if (rel && unknown.length) {
    throw new InvalidError(`${app.name} has no process type ${unknown.join(', ')}; it has ${Object.keys(rel.processes).join(', ')} (from its Procfile)`);
  }
  op.progress.step(
    `Scaling ${app.name}: ${Object.entries(counts)
      .map(([t, n]) => `${t}=${n}`)
      .join(' ')}`,
  );
  return applyFormation(op, app, 'scale', [], () => op.services.store.formation.setQuantities(app.name, counts));
}

/**
 * ps:restart: fresh instances of one type, or of all. Config set with
 * --no-restart is pending until a release takes it: a restart makes that
 * release (of the serving image, release phase included unless skipped),
 * for every type, since config is the app's.
 */
export async function restart(
  op: Op,
  appName: string,
  type: string | undefined,
  options: { releasePhase?: boolean } = {},
): Promise<{ stopped: Instance[] | undefined } | { released: number }> {
  const app = getApp(op.services, op.caller, appName);
  const pending = pendingKeys(op.services, app.name);
  const serving = op.services.store.releases.current(app.name);
  if (serving && pending.changed.length + pending.removed.length > 0) {
    const keys = [...pending.changed, ...pending.removed];
    op.progress.step(`Restarting ${app.name} with its pending config (${keys.join(', ')})`);
    return withOpLock(op, app.name, 'restart', async () => {
      getApp(op.services, op.caller, app.name);
      const rel = op.services.store.releases.current(app.name) ?? serving;
      const result = await rollout(
        op.services,
        { ...releaseOf(rel), pusher: op.caller.user, description: `Apply pending config: ${keys.join(', ')}`, config: configOf(op.services.store, app.name) },
        op.progress,
        op.signal,
        { releasePhase: options.releasePhase },
      );
      return { released: result.release.version };
    });
  }
  op.progress.step(`Restarting ${type ? `${type} of ` : ''}${app.name}`);
  return { stopped: await applyFormation(op, app, 'restart', type ? [type] : 'all', () => {}) };
}

/** ps:stop and ps:start: every process of the app, at its recorded scale. */
export async function setStopped(op: Op, appName: string, stopped: boolean): Promise<Instance[] | undefined> {
  const app = getApp(op.services, op.caller, appName);
  op.progress.step(`${stopped ? 'Stopping' : 'Starting'} ${app.name}`);
  return applyFormation(op, app, stopped ? 'stop' : 'start', [], () => op.services.store.apps.setStopped(app.name, stopped));
}

/** resources:set: a process type's limits (undefined: unchanged, null: none); restarts that type. */
export async function setResources(
  op: Op,
  appName: string,
  type: string,
  limits: { memory?: number | null; cpus?: number | null },
): Promise<Instance[] | undefined> {
  const app = getApp(op.services, op.caller, appName);
  assertHostHas(limits.memory, limits.cpus);
  op.progress.step(`Setting limits of ${type} for ${app.name}`);
  return applyFormation(op, app, 'resources', [type], () => op.services.store.formation.setResources(app.name, type, limits));
}

/** Limits the host can give at all: the engine refuses more, and a recorded limit it refuses fails every later start. */
function assertHostHas(memory: number | null | undefined, cpus: number | null | undefined): void {
  const cores = os.cpus().length;
  if (cpus != null && cpus > cores) throw new InvalidError(`--cpus ${cpus}: this host has ${cores} CPU${cores === 1 ? '' : 's'}`);
  const total = os.totalmem();
  if (memory != null && memory > total) throw new InvalidError(`--memory: this host has ${Math.floor(total / 1024 ** 2)}m of memory`);
}
