import { parseCpus, parseMemory, parseProcessType, parseScale } from '../domain/procfile.js';
import os from 'node:os';
import { planFormation, type FormationEntry } from '../domain/formation.js';
import { InvalidError, UsageError } from '../errors.js';
import { converge } from '../pipeline/converge.js';
import { Progress } from '../output/progress.js';
import type { App, Store } from '../store/store.js';
import { parseCommandArgs, table, writeJson } from './args.js';
import { getApp, withCommandLock } from './app-lifecycle.js';
import type { CommandContext, CommandSpec } from './command.js';

/** Brings the running instances in line with the record, under the app's lock; a no-op without a release. */
async function applyFormation(ctx: CommandContext, app: App, purpose: string, replace: readonly string[] | 'all', change: () => void): Promise<void> {
  const { services, io, caller } = ctx;
  await withCommandLock(ctx, app.name, purpose, async () => {
    const before = services.store.formation.list(app.name);
    change();
    const fresh = getApp(services, caller, app.name);
    const rel = fresh.currentRelease === null ? undefined : services.store.releases.find(app.name, fresh.currentRelease);
    if (!rel) {
      io.stdout.write('       (no release yet: this takes effect with the first deploy)\n');
      return;
    }
    let result;
    try {
      result = await converge(services, rel, { replace, progress: new Progress([io.stdout]), signal: io.signal });
    } catch (err) {
      // What runs is what ran before: so is the record, or every later restart would fail the same way.
      restoreFormation(services.store, app.name, before);
      throw err;
    }
    const stopped = result.stopped.map((i) => `${i.process}.${i.index}`);
    if (stopped.length) io.stdout.write(`       stopped ${stopped.join(', ')}\n`);
  });
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

/** Limits the host can give at all: the engine refuses more, and a recorded limit it refuses fails every later start. */
function assertHostHas(memory: number | null | undefined, cpus: number | null | undefined): void {
  const cores = os.cpus().length;
  if (cpus != null && cpus > cores) throw new InvalidError(`--cpus ${cpus}: this host has ${cores} CPU${cores === 1 ? '' : 's'}`);
  const total = os.totalmem();
  if (memory != null && memory > total) throw new InvalidError(`--memory: this host has ${Math.floor(total / 1024 ** 2)}m of memory`);
}

function uptime(since: string | undefined): string {
  if (!since) return '-';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(since)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

function limits(memory: number | null, cpus: number | null): string {
  const parts = [memory === null ? '' : `${Math.round(memory / 1024 ** 2)}m`, cpus === null ? '' : `${cpus} CPU`].filter(Boolean);
  return parts.join(', ');
}

export const psCommands: CommandSpec[] = [
  {
    name: 'ps',
    aliases: ['ps:report'],
    usage: 'APP [--json]',
    summary: "Show an app's processes: each instance, its state, release and uptime, and the scale of each type",
    async run({ args, io, services, caller }) {
      const { positionals, values } = parseCommandArgs('ps', 'APP [--json]', args, { json: { type: 'boolean' } }, { min: 1, max: 1 });
      const app = getApp(services, caller, positionals[0]);
      const rel = app.currentRelease === null ? undefined : services.store.releases.find(app.name, app.currentRelease);
      const plan = rel ? planFormation(rel.processes, services.store.formation.list(app.name)) : [];
      const instances = await services.runtime.status(app.name);
      const report = {
        app: app.name,
        release: app.currentRelease,
        stopped: app.stopped,
        formation: plan.map((p) => ({ process: p.process, quantity: app.stopped ? 0 : p.quantity, memory: p.memory, cpus: p.cpus, command: p.command })),
        instances: instances.map((i) => ({ name: `${i.process}.${i.index}`, state: i.state, release: i.release, startedAt: i.startedAt ?? null })),
      };
      if (values.json) return writeJson(io.stdout, report);
      io.stdout.write(`=====> ${app.name} processes${rel ? ` (v${rel.version})` : ''}${app.stopped ? ' — stopped (ps:start to run)' : ''}\n`);
      io.stdout.write(
        table(
          instances.map((i) => {
            const p = plan.find((x) => x.process === i.process);
            return [`${i.process}.${i.index}`, i.state, `v${i.release}`, `up ${uptime(i.startedAt)}`, p ? limits(p.memory, p.cpus) : ''];
          }),
        ),
      );
      const scale = plan.map((p) => `${p.process}=${app.stopped ? 0 : p.quantity}`).join(' ');
      if (scale) io.stdout.write(`Scale: ${scale}\n`);
    },
  },
  {
    name: 'ps:scale',
    usage: 'APP TYPE=COUNT...',
    summary: 'Set how many instances of each process type run (0 stops a type); kept across releases',
    async run(ctx) {
      const { positionals } = parseCommandArgs('ps:scale', 'APP TYPE=COUNT...', ctx.args, {}, { min: 1, max: 50 });
      const app = getApp(ctx.services, ctx.caller, positionals[0]);
      if (positionals.length === 1) throw new UsageError(`usage: ps:scale APP TYPE=COUNT... (ps ${app.name} shows the current scale)`);
      const counts = parseScale(positionals.slice(1));
      const rel = app.currentRelease === null ? undefined : ctx.services.store.releases.find(app.name, app.currentRelease);
      const unknown = rel ? Object.keys(counts).filter((t) => !(t in rel.processes)) : [];
      if (unknown.length) {
        throw new InvalidError(`${app.name} has no process type ${unknown.join(', ')}; it has ${Object.keys(rel!.processes).join(', ')} (from its Procfile)`);
      }
      ctx.io.stdout.write(`-----> Scaling ${app.name}: ${Object.entries(counts).map(([t, n]) => `${t}=${n}`).join(' ')}\n`);
      await applyFormation(ctx, app, 'scale', [], () => ctx.services.store.formation.setQuantities(app.name, counts));
    },
  },
  {
    name: 'ps:restart',
    usage: 'APP [TYPE]',
    summary: 'Replace the instances (of one type, or all) with fresh ones, without downtime',
    async run(ctx) {
      const { positionals } = parseCommandArgs('ps:restart', 'APP [TYPE]', ctx.args, {}, { min: 1, max: 2 });
      const app = getApp(ctx.services, ctx.caller, positionals[0]);
      const type = positionals[1] === undefined ? undefined : parseProcessType(positionals[1]);
      ctx.io.stdout.write(`-----> Restarting ${type ? `${type} of ` : ''}${app.name}\n`);
      await applyFormation(ctx, app, 'restart', type ? [type] : 'all', () => {});
    },
  },
  {
    name: 'ps:stop',
    usage: 'APP',
    summary: 'Stop every process of the app (it answers 503) until ps:start',
    async run(ctx) {
      const { positionals } = parseCommandArgs('ps:stop', 'APP', ctx.args, {}, { min: 1, max: 1 });
      const app = getApp(ctx.services, ctx.caller, positionals[0]);
      ctx.io.stdout.write(`-----> Stopping ${app.name}\n`);
      await applyFormation(ctx, app, 'stop', [], () => ctx.services.store.apps.setStopped(app.name, true));
    },
  },
  {
    name: 'ps:start',
    usage: 'APP',
    summary: 'Start the app again at its recorded scale',
    async run(ctx) {
      const { positionals } = parseCommandArgs('ps:start', 'APP', ctx.args, {}, { min: 1, max: 1 });
      const app = getApp(ctx.services, ctx.caller, positionals[0]);
      ctx.io.stdout.write(`-----> Starting ${app.name}\n`);
      await applyFormation(ctx, app, 'start', [], () => ctx.services.store.apps.setStopped(app.name, false));
    },
  },
  {
    name: 'resources:set',
    usage: 'APP TYPE [--memory SIZE] [--cpus N]',
    summary: "Limit a process type's memory (512m, 1g) and CPUs (0.5); 'none' lifts a limit; restarts that type",
    async run(ctx) {
      const { positionals, values } = parseCommandArgs(
        'resources:set',
        'APP TYPE [--memory SIZE] [--cpus N]',
        ctx.args,
        { memory: { type: 'string' }, cpus: { type: 'string' } },
        { min: 2, max: 2 },
      );
      const app = getApp(ctx.services, ctx.caller, positionals[0]);
      const type = parseProcessType(positionals[1]);
      if (values.memory === undefined && values.cpus === undefined) throw new UsageError('give --memory SIZE, --cpus N, or both');
      const memory = values.memory === undefined ? undefined : values.memory === 'none' ? null : parseMemory(String(values.memory));
      const cpus = values.cpus === undefined ? undefined : values.cpus === 'none' ? null : parseCpus(String(values.cpus));
      assertHostHas(memory, cpus);
      ctx.io.stdout.write(`-----> Setting limits of ${type} for ${app.name}\n`);
      await applyFormation(ctx, app, 'resources', [type], () => ctx.services.store.formation.setResources(app.name, type, { memory, cpus }));
    },
  },
];
