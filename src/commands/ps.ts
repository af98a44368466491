import { parseCpus, parseMemory, parseProcessType, parseScale } from '../domain/procfile.js';
import { planFormation } from '../domain/formation.js';
import { UsageError } from '../errors.js';
import { restart, scale, setResources, setStopped } from '../operations/formation.js';
import { PAUSE_DEFAULT_SECONDS, PAUSE_MAX_SECONDS, pauseApp, pausedUntil, resumeApp } from '../operations/pause.js';
import { getApp } from '../access/policy.js';
import type { Instance } from '../runtime/runtime.js';
import { table, writeJson } from './args.js';
import { onApp, releasePhaseNote } from './audit.js';
import type { CommandContext, CommandSpec } from './command.js';
import { operation } from './operation-io.js';
import { HEADING, STEP } from '../output/progress.js';

/** What a change of the formation stopped; a change to an app with no release waits for its first deploy. */
function report(ctx: CommandContext, stopped: Instance[] | undefined): void {
  if (stopped === undefined) ctx.io.stdout.write('       (no release yet: this takes effect with the first deploy)\n');
  else if (stopped.length) ctx.io.stdout.write(`       stopped ${stopped.map((i) => `${i.process}.${i.index}`).join(', ')}\n`);
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
    async run({ values, positionals, io, services, caller }) {
      const app = getApp(services, caller, positionals[0]);
      const rel = services.store.releases.current(app.name);
      const plan = rel ? planFormation(rel.processes, services.store.formation.list(app.name)) : [];
      const instances = await services.runtime.status(app.name);
      const report = {
        app: app.name,
        release: app.currentRelease,
        stopped: app.stopped,
        formation: plan.map((p) => ({ process: p.process, quantity: app.stopped ? 0 : p.quantity, memory: p.memory, cpus: p.cpus, command: p.command })),
        instances: instances.map((i) => ({
          name: `${i.process}.${i.index}`,
          state: i.state,
          release: i.release,
          startedAt: i.startedAt ?? null,
          node: i.node ?? null,
        })),
      };
      if (values.json) return writeJson(io.stdout, report);
      const paused = pausedUntil(services, app.name);
      io.stdout.write(
        `${HEADING}${app.name} processes${rel ? ` (v${rel.version})` : ''}${app.stopped ? ' — stopped (ps:start to run)' : ''}${paused ? ` — paused until ${paused} (ps:resume to end it)` : ''}\n`,
      );
      io.stdout.write(
        table(
          instances.map((i) => {
            const p = plan.find((x) => x.process === i.process);
            return [
              `${i.process}.${i.index}`,
              i.state,
              `v${i.release}`,
              `up ${uptime(i.startedAt)}`,
              ...(i.node ? [`on ${i.node}`] : []),
              p ? limits(p.memory, p.cpus) : '',
            ];
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
    audit: ({ positionals }) => ({ app: positionals[0], detail: { scale: positionals.slice(1) } }),
    async run(ctx) {
      const { positionals } = ctx;
      report(ctx, await scale(operation(ctx), positionals[0], parseScale(positionals.slice(1))));
    },
  },
  {
    name: 'ps:restart',
    usage: 'APP [TYPE] [--no-release-phase]',
    summary: 'Replace the instances (of one type, or all) with fresh ones, without downtime; pending config (config:set --no-restart) makes a release',
    audit: ({ positionals, values }) => ({ app: positionals[0], detail: { type: positionals[1] ?? 'all', ...releasePhaseNote(values) } }),
    async run(ctx) {
      const { positionals, values } = ctx;
      const type = positionals[1] === undefined ? undefined : parseProcessType(positionals[1]);
      const result = await restart(operation(ctx), positionals[0], type, { releasePhase: values['no-release-phase'] !== true });
      if ('stopped' in result) report(ctx, result.stopped);
    },
  },
  {
    name: 'ps:pause',
    usage: 'APP [--max SECONDS]',
    summary: `Hold the app's new requests at the router (they wait, they do not fail) until ps:resume or --max seconds (default ${PAUSE_DEFAULT_SECONDS}, at most ${PAUSE_MAX_SECONDS})`,
    audit: ({ positionals, values }) => ({
      app: positionals[0] ?? null,
      detail: { max: values.max === undefined ? PAUSE_DEFAULT_SECONDS : Number(values.max) },
    }),
    async run(ctx) {
      const max = ctx.values.max === undefined ? PAUSE_DEFAULT_SECONDS : Number(ctx.values.max);
      const { app, until } = await pauseApp(operation(ctx), ctx.positionals[0], max);
      ctx.io.stdout.write(`${STEP}${app.name} is paused until ${until.toISOString()}: ps:resume ${app.name} lets its requests go sooner\n`);
    },
  },
  {
    name: 'ps:resume',
    usage: 'APP',
    summary: 'Let the requests ps:pause holds go on to the app',
    audit: onApp,
    async run(ctx) {
      const app = await resumeApp(operation(ctx), ctx.positionals[0]);
      ctx.io.stdout.write(`${STEP}${app.name} is resumed: its held requests went on\n`);
    },
  },
  {
    name: 'ps:stop',
    usage: 'APP',
    summary: 'Stop every process of the app (it answers 503) until ps:start',
    audit: onApp,
    async run(ctx) {
      report(ctx, await setStopped(operation(ctx), ctx.positionals[0], true));
    },
  },
  {
    name: 'ps:start',
    usage: 'APP',
    summary: 'Start the app again at its recorded scale',
    audit: onApp,
    async run(ctx) {
      report(ctx, await setStopped(operation(ctx), ctx.positionals[0], false));
    },
  },
  {
    name: 'resources:set',
    usage: 'APP TYPE [--memory SIZE] [--cpus N]',
    summary: "Limit a process type's memory (512m, 1g) and CPUs (0.5); 'none' lifts a limit; restarts that type",
    audit: ({ positionals, values }) => ({ app: positionals[0], detail: { type: positionals[1], memory: values.memory ?? null, cpus: values.cpus ?? null } }),
    async run(ctx) {
      const { positionals, values } = ctx;
      const type = parseProcessType(positionals[1]);
      if (values.memory === undefined && values.cpus === undefined) throw new UsageError('give --memory SIZE, --cpus N, or both');
      const memory = values.memory === undefined ? undefined : values.memory === 'none' ? null : parseMemory(String(values.memory));
      const cpus = values.cpus === undefined ? undefined : values.cpus === 'none' ? null : parseCpus(String(values.cpus));
      report(ctx, await setResources(operation(ctx), positionals[0], type, { memory, cpus }));
    },
  },
];
