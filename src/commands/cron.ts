import { cronRuns, listCron, runCronNow } from '../operations/cron.js';
import { HEADING, STEP } from '../output/progress.js';
import type { CronRun } from '../domain/entities.js';
import { table, writeJson } from './args.js';
import type { CommandSpec } from './command.js';
import { operation } from './operation-io.js';

function duration(run: CronRun): string {
  if (run.finishedAt === null) return '-';
  const s = (new Date(run.finishedAt).getTime() - new Date(run.startedAt).getTime()) / 1000;
  return s < 60 ? `${s.toFixed(1)}s` : `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
}

function result(run: Pick<CronRun, 'status' | 'exitCode'>): string {
  return run.status === 'failed' && run.exitCode !== null ? `failed (${run.exitCode})` : run.status;
}

export const cronCommands: CommandSpec[] = [
  {
    name: 'cron',
    aliases: ['cron:list'],
    usage: 'APP [--json]',
    summary: "List an app's scheduled jobs (skiff.yml's cron:): schedule (UTC), next run, last result",
    async run({ positionals, values, io, services, caller }) {
      const jobs = listCron({ services, caller }, positionals[0]);
      if (values.json) return writeJson(io.stdout, jobs);
      io.stdout.write(`${HEADING}${positionals[0]} scheduled jobs (UTC)\n`);
      if (jobs.length === 0) return void io.stdout.write('(none: declare them under cron: in skiff.yml)\n');
      io.stdout.write(
        table([
          ['JOB', 'SCHEDULE', 'CONCURRENCY', 'NEXT RUN', 'LAST RUN', 'COMMAND'],
          ...jobs.map((j) => [j.name, j.schedule, j.concurrency, j.next ?? 'never', j.last ? `${result(j.last)} at ${j.last.startedAt}` : '-', j.command]),
        ]),
      );
    },
  },
  {
    name: 'cron:runs',
    usage: 'APP [JOB] [-n N] [--json]',
    summary: "Show the latest runs of an app's scheduled jobs, newest first (--json has each run's last 64 KiB of output)",
    async run({ positionals, values, io, services, caller }) {
      const runs = cronRuns({ services, caller }, positionals[0], positionals[1], values.n === undefined ? 20 : Number(values.n));
      if (values.json) return writeJson(io.stdout, runs);
      if (runs.length === 0) return void io.stdout.write('(no runs yet)\n');
      io.stdout.write(
        table([
          ['RUN', 'JOB', 'TRIGGER', 'STARTED', 'TOOK', 'RESULT', 'RELEASE'],
          ...runs.map((r) => [String(r.id), r.job, r.trigger, r.startedAt, duration(r), result(r), `v${r.release}`]),
        ]),
      );
    },
  },
  {
    name: 'cron:run',
    rawOutput: true,
    usage: 'APP JOB',
    summary: 'Run a scheduled job now (its concurrency applies), output streamed and recorded; its exit status is yours',
    audit: ({ positionals }) => ({ app: positionals[0], detail: { job: positionals[1] ?? null } }),
    async run(ctx) {
      const { io, positionals } = ctx;
      const run = await runCronNow(operation(ctx), positionals[0], positionals[1], { stdout: io.stdout, stderr: io.stderr });
      if (run.status === 'succeeded') return 0;
      io.stderr.write(`${STEP}run ${run.id} of ${run.job}: ${result(run)}\n`);
      return run.status === 'timed-out' ? 124 : run.exitCode || 1;
    },
  },
];
