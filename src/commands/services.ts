import { InvalidError } from '../errors.js';
import {
  connectService,
  createService,
  destroyService,
  linkService,
  listServices,
  restartService,
  serviceInfo,
  serviceLogs,
  serviceUsers,
  shareService,
  unshareService,
  unlinkService,
  type ServiceInfo,
} from '../operations/backing-services.js';
import { HEADING, STEP } from '../output/progress.js';
import { formatLogLine } from '../runtime/log-lines.js';
import { formatBytes, table, writeJson } from './args.js';
import type { CommandSpec } from './command.js';
import { operation, withAttachedIO } from './operation-io.js';
import { backupService, countsSummary, downloadBackup, listBackups, recheckBackup, restoreService, scheduleBackups } from '../operations/backups.js';
import { releasePhaseNote } from './audit.js';

const MAX_LINES = 10_000;

/** An age in the largest whole unit: 42s, 5m, 3h, 2d. */
function age(seconds: number): string {
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

function lastGood(info: ServiceInfo): string {
  return info.lastGoodBackup ? `#${info.lastGoodBackup.id}, ${age(info.lastGoodBackup.ageSeconds)} ago` : 'none';
}

const serviceAudit = ({ positionals }: { positionals: string[] }): { app: null; detail: Record<string, unknown> } => ({
  app: null,
  detail: { service: positionals[0] ?? null },
});

export const servicesCommands: CommandSpec[] = [
  {
    name: 'services',
    aliases: ['services:list'],
    usage: '[--json]',
    summary: 'List your services (databases): kind, version, state, size, linked apps, last good backup',
    async run({ values, io, services, caller }) {
      const all = await listServices({ services, caller });
      if (values.json) return writeJson(io.stdout, all);
      if (all.length === 0) return void io.stdout.write('(no services: services:create postgres NAME)\n');
      io.stdout.write(
        table([
          ['SERVICE', 'KIND', 'VERSION', 'STATE', 'SIZE', 'LINKED', 'LAST GOOD BACKUP'],
          ...all.map((s) => [s.name, s.kind, s.version, s.state, formatBytes(s.bytes), s.links.map((l) => l.app).join(', ') || '-', lastGood(s)]),
        ]),
      );
    },
  },
  {
    name: 'services:create',
    usage: 'KIND NAME [--version V]',
    summary: 'Create a service: postgres or redis, its data in a volume of its own, reached only by the apps it is linked to',
    audit: ({ positionals, values }) => ({
      app: null,
      detail: { service: positionals[1] ?? null, kind: positionals[0] ?? null, ...(values.version ? { version: String(values.version) } : {}) },
    }),
    async run(ctx) {
      const version = ctx.values.version === undefined ? undefined : String(ctx.values.version);
      await createService(operation(ctx), ctx.positionals[0], ctx.positionals[1], version);
    },
  },
  {
    name: 'services:info',
    usage: 'NAME [--json]',
    summary: "A service's kind, version, state, size on disk, linked apps, and its last good backup and its age",
    async run({ positionals, values, io, services, caller }) {
      const info = await serviceInfo({ services, caller }, positionals[0]);
      if (values.json) return writeJson(io.stdout, info);
      io.stdout.write(`${HEADING}${info.name}\n`);
      const last = info.lastBackup ? `#${info.lastBackup.id} ${info.lastBackup.status}${info.lastBackup.error ? `: ${info.lastBackup.error}` : ''}` : 'none';
      io.stdout.write(
        table([
          ['Kind:', info.kind],
          ['Version:', `${info.version} (${info.image})`],
          ['State:', info.state],
          ['Size:', formatBytes(info.bytes)],
          ['Owner:', info.owner],
          ['Linked:', info.links.map((l) => `${l.app} (${l.variable})`).join(', ') || '-'],
          ['Backups:', info.schedule ? `at ${info.schedule.cron} (UTC), the newest ${info.schedule.keep} kept` : 'when asked (services:backups:schedule)'],
          ['Last good backup:', lastGood(info)],
          ['Last backup:', last],
        ]),
      );
    },
  },
  {
    name: 'services:destroy',
    usage: 'NAME --confirm NAME',
    summary: 'Delete a service, its data and its backups (refused while it is linked)',
    audit: serviceAudit,
    async run({ positionals, values, io, services, caller }) {
      await destroyService({ services, caller }, positionals[0], values.confirm === undefined ? undefined : String(values.confirm));
      io.stdout.write(`${STEP}Destroyed ${positionals[0]}\n`);
    },
  },
  {
    name: 'services:restart',
    usage: 'NAME',
    summary: "Restart a service's container and wait until it answers",
    audit: serviceAudit,
    async run(ctx) {
      await restartService(operation(ctx), ctx.positionals[0]);
    },
  },
  {
    name: 'services:logs',
    rawOutput: true,
    usage: 'NAME [-n LINES] [-t]',
    summary: "Show a service's output (-t follows it live until you disconnect)",
    async run({ values, positionals, io, services, caller }) {
      const n = values.n === undefined ? 100 : Number(values.n);
      if (!Number.isInteger(n) || n < 1 || n > MAX_LINES) throw new InvalidError(`-n takes a whole number from 1 to ${MAX_LINES}`);
      await serviceLogs({ services, caller }, positionals[0], { tail: n, follow: values.t === true, signal: io.signal }, (line) =>
        io.stdout.write(formatLogLine(line)),
      );
    },
  },
  {
    name: 'services:link',
    usage: 'NAME APP [--as VAR] [--no-release-phase]',
    summary: "Give an app the service's URL (DATABASE_URL or REDIS_URL, or VAR) and a way to reach it, as a new release",
    audit: ({ positionals, values }) => ({
      app: positionals[1] ?? null,
      detail: { service: positionals[0] ?? null, ...(values.as ? { as: String(values.as) } : {}), ...releasePhaseNote(values) },
    }),
    async run(ctx) {
      const link = await linkService(operation(ctx), ctx.positionals[0], ctx.positionals[1], {
        ...(ctx.values.as === undefined ? {} : { as: String(ctx.values.as) }),
        releasePhase: ctx.values['no-release-phase'] !== true,
      });
      ctx.io.stdout.write(`${STEP}${link.app} has ${link.service} as ${link.variable}\n`);
    },
  },
  {
    name: 'services:unlink',
    usage: 'NAME APP [--no-release-phase]',
    summary: "Take the service's URL and network away from an app, as a new release (the service and its data stay)",
    audit: ({ positionals, values }) => ({ app: positionals[1] ?? null, detail: { service: positionals[0] ?? null, ...releasePhaseNote(values) } }),
    async run(ctx) {
      const link = await unlinkService(operation(ctx), ctx.positionals[0], ctx.positionals[1], { releasePhase: ctx.values['no-release-phase'] !== true });
      ctx.io.stdout.write(`${STEP}${link.app} no longer has ${link.service} (${link.variable})\n`);
    },
  },
  {
    name: 'services:backup',
    usage: 'NAME',
    summary: 'Back up a service now; the backup counts as good only once it was restored into a scratch copy and matched',
    audit: serviceAudit,
    async run(ctx) {
      await backupService(operation(ctx), ctx.positionals[0]);
    },
  },
  {
    name: 'services:backups',
    usage: 'NAME [--json]',
    summary: "A service's backups, newest first: good (restored and checked), bad (and why), or running",
    async run({ positionals, values, io, services, caller }) {
      const { kind, backups } = listBackups({ services, caller }, positionals[0]);
      if (values.json) return writeJson(io.stdout, backups);
      if (backups.length === 0) return void io.stdout.write(`(no backups: services:backup ${positionals[0]})\n`);
      io.stdout.write(
        table([
          ['ID', 'STATUS', 'TAKEN', 'BY', 'SIZE', 'HELD', 'WHY BAD'],
          ...backups.map((b) => [
            String(b.id),
            b.status,
            b.startedAt,
            b.trigger,
            formatBytes(b.bytes),
            b.counts ? countsSummary(b.counts, kind) : '-',
            b.error ?? '',
          ]),
        ]),
      );
    },
  },
  {
    name: 'services:backups:check',
    usage: 'NAME ID',
    summary: 'Restore a kept backup into a scratch copy again and match it (a file changed on disk is found bad)',
    audit: ({ positionals }) => ({ app: null, detail: { service: positionals[0] ?? null, backup: positionals[1] ?? null } }),
    async run(ctx) {
      await recheckBackup(operation(ctx), ctx.positionals[0], ctx.positionals[1]);
    },
  },
  {
    name: 'services:backups:download',
    rawOutput: true,
    usage: 'NAME ID',
    summary: "A good backup's bytes on stdout (pg_dump's custom format, or an RDB file), for a copy elsewhere: ssh … > file",
    audit: ({ positionals }) => ({ app: null, detail: { service: positionals[0] ?? null, backup: positionals[1] ?? null } }),
    async run({ positionals, io, services, caller }) {
      await downloadBackup({ services, caller }, positionals[0], positionals[1], io.rawStdout ?? io.stdout);
    },
  },
  {
    name: 'services:restore',
    usage: 'NAME ID [--no-pause]',
    summary: "Put a good backup back, after a fresh backup of what it replaces; the linked apps' requests wait meanwhile (--no-pause: they keep being served)",
    audit: ({ positionals, values }) => ({
      app: null,
      detail: { service: positionals[0] ?? null, backup: positionals[1] ?? null, ...(values['no-pause'] ? { pause: false } : {}) },
    }),
    async run(ctx) {
      await restoreService(operation(ctx), ctx.positionals[0], ctx.positionals[1], { pause: ctx.values['no-pause'] !== true });
    },
  },
  {
    name: 'services:backups:schedule',
    usage: 'NAME CRON|off [--keep N]',
    summary: 'Back a service up at each time a cron schedule names (UTC, e.g. "0 3 * * *"), keeping the newest N (default 7); off stops it',
    audit: ({ positionals, values }) => ({
      app: null,
      detail: { service: positionals[0] ?? null, schedule: positionals[1] ?? null, ...(values.keep ? { keep: String(values.keep) } : {}) },
    }),
    async run({ positionals, values, io, services, caller }) {
      const service = scheduleBackups({ services, caller }, positionals[0], positionals[1], values.keep === undefined ? undefined : String(values.keep));
      io.stdout.write(
        service.schedule
          ? `${STEP}${service.name} is backed up at ${service.schedule.cron} (UTC); the newest ${service.schedule.keep} are kept\n`
          : `${STEP}${service.name} has no backup schedule\n`,
      );
    },
  },
  {
    name: 'services:connect',
    rawOutput: true,
    usage: 'NAME',
    summary: 'Open psql or redis-cli on a service (ssh -t for a terminal); input from a pipe runs as a script',
    audit: serviceAudit,
    async run({ positionals, io, services, caller }) {
      return withAttachedIO(io, (attached) => connectService({ services, caller }, positionals[0], attached));
    },
  },
  {
    name: 'services:access',
    usage: 'NAME [--json]',
    summary: 'List who may use a service: its owner and the users it is shared with',
    async run({ positionals, values, io, services, caller }) {
      const { owner, users } = serviceUsers({ services, caller }, positionals[0]);
      if (values.json) return writeJson(io.stdout, { owner, users });
      io.stdout.write(`${HEADING}${positionals[0]} access\n${owner} (owner)\n${users.map((u) => `${u}\n`).join('')}`);
    },
  },
  {
    name: 'services:access:add',
    usage: 'NAME USER',
    summary: 'Let a user link a service to their apps, back it up, restore and connect to it (owner or admin)',
    audit: ({ positionals }) => ({ app: null, detail: { service: positionals[0] ?? null, user: positionals[1] ?? null } }),
    async run({ positionals, io, services, caller }) {
      const { service, user } = shareService({ services, caller }, positionals[0], positionals[1]);
      io.stdout.write(`${STEP}${user} may now use ${service}\n`);
    },
  },
  {
    name: 'services:access:remove',
    usage: 'NAME USER',
    summary: "Take a user's access to a service away, and the links they made to it (owner or admin)",
    audit: ({ positionals }) => ({ app: null, detail: { service: positionals[0] ?? null, user: positionals[1] ?? null } }),
    async run(ctx) {
      const { service, user, unlinked } = await unshareService(operation(ctx), ctx.positionals[0], ctx.positionals[1]);
      ctx.io.stdout.write(`${STEP}${user} may no longer use ${service}${unlinked.length ? `; unlinked from ${unlinked.join(', ')}` : ''}\n`);
    },
  },
];
