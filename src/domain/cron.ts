import { createRequire } from 'node:module';
import type { Cron } from 'croner';
import { InvalidError } from '../errors.js';
import { MAX_COMMAND_LENGTH, PROCESS_TYPE_PATTERN } from './procfile.js';

/** What a second run of a job does while the previous one still runs. */
export type Concurrency = 'forbid' | 'replace' | 'allow';
const CONCURRENCY: readonly Concurrency[] = ['forbid', 'replace', 'allow'];

/** A scheduled job, as a release declares it (skiff.yml's cron: or app.json's cron). */
export interface CronJob {
  name: string;
  /** Cron syntax: five fields or a nickname (@daily); six (seconds first) only where the server allows them. */
  schedule: string;
  command: string;
  concurrency: Concurrency;
  /** Seconds a run may take before it is stopped; null: the server's SKIFF_CRON_TIMEOUT. */
  timeoutSeconds: number | null;
}

export const MAX_CRON_JOBS = 20;
export const MAX_CRON_TIMEOUT_SECONDS = 24 * 3600;

export interface ScheduleRules {
  /** Whether six-field schedules (a seconds field first) are accepted: SKIFF_CRON_SECONDS. */
  seconds: boolean;
}

/** croner, loaded when a schedule is first read: most pushes (a process each) declare none. */
function croner(): typeof import('croner') {
  return createRequire(import.meta.url)('croner') as typeof import('croner');
}

/** Every job's times are computed in UTC, the same on every server whatever its TZ. */
export function cronOptions(rules: ScheduleRules): { timezone: string; mode: '5-part' | '5-or-6-parts' } {
  return { timezone: 'Etc/UTC', mode: rules.seconds ? '5-or-6-parts' : '5-part' };
}

/** A schedule's timer; it calls run at each of its times until stopped. */
export function scheduleTimer(schedule: string, rules: ScheduleRules, run: (due: Date) => void): Cron {
  const { Cron } = croner();
  return new Cron(schedule, { ...cronOptions(rules), unref: true }, (self: Cron) => run(self.currentRun() ?? new Date()));
}

function pattern(schedule: string, rules: ScheduleRules): Cron {
  const { Cron } = croner();
  return new Cron(schedule, { paused: true, ...cronOptions(rules) });
}

/** Checks a schedule; the reason is croner's, or the field count. */
export function checkSchedule(schedule: string, rules: ScheduleRules): void {
  if (!/^[\x20-\x7e]{1,100}$/.test(schedule)) throw new Error('use printable characters, at most 100');
  const fields = schedule.trim().split(/\s+/).length;
  if (!rules.seconds && fields === 6) throw new Error('six fields (seconds) are not allowed on this server; use five: minute hour day month weekday');
  try {
    pattern(schedule, rules);
  } catch (err) {
    throw new Error((err as Error).message.replace(/^CronPattern: /, ''));
  }
}

/** The first time after `after` that the schedule names, or null when it names none. */
export function nextRun(schedule: string, after: Date, rules: ScheduleRules): Date | null {
  return pattern(schedule, rules).nextRun(after);
}

/** The time between the next two runs after `at`: a job's period, near enough for "overdue". */
export function periodMs(schedule: string, at: Date, rules: ScheduleRules): number | null {
  const [a, b] = pattern(schedule, rules).nextRuns(2, at);
  return a && b ? b.getTime() - a.getTime() : null;
}

/** A duration: whole seconds, or a number with s, m or h. */
export function parseDuration(value: unknown): number | null {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value !== 'string') return null;
  const m = /^(\d{1,6})\s*(s|m|h)?$/.exec(value.trim());
  if (!m) return null;
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[(m[2] as 's' | 'm' | 'h') ?? 's'];
}

/**
 * Reads a cron section: a list of jobs, each { name, schedule, command,
 * concurrency?, timeout? }. `where` names the file in each refusal.
 */
export function parseCronJobs(value: unknown, where: string, rules: ScheduleRules): CronJob[] {
  if (!Array.isArray(value)) throw new InvalidError(`${where}: cron must be a list of jobs, e.g. - {name: nightly, schedule: "0 3 * * *", command: ./backup}`);
  if (value.length > MAX_CRON_JOBS) throw new InvalidError(`${where}: cron has more than ${MAX_CRON_JOBS} jobs`);
  const seen = new Set<string>();
  return value.map((entry: unknown, i) => {
    const at = `${where}: cron[${i}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new InvalidError(`${at} must be a mapping with name, schedule and command`);
    const fields = entry as Record<string, unknown>;
    const unknown = Object.keys(fields).filter((k) => !['name', 'schedule', 'command', 'concurrency', 'timeout'].includes(k));
    if (unknown.length) throw new InvalidError(`${at}: unknown field ${unknown.join(', ')} (known: name, schedule, command, concurrency, timeout)`);
    const { name, schedule, command } = fields;
    if (typeof name !== 'string' || !PROCESS_TYPE_PATTERN.test(name))
      throw new InvalidError(`${at}: name must be lower-case letters, digits, '-' and '_', e.g. nightly`);
    const job = `${where}: cron job ${name}`;
    if (seen.has(name)) throw new InvalidError(`${job} is defined twice`);
    seen.add(name);
    if (typeof schedule !== 'string') throw new InvalidError(`${job}: schedule must be a cron expression, e.g. "0 3 * * *"`);
    try {
      checkSchedule(schedule, rules);
    } catch (err) {
      throw new InvalidError(`${job}: schedule "${schedule.slice(0, 100)}" is not valid: ${(err as Error).message}`);
    }
    if (typeof command !== 'string' || command.trim() === '')
      throw new InvalidError(`${job}: command must be a command, e.g. command: ./manage.py clearsessions`);
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(command)) throw new InvalidError(`${job}: command has a control character`);
    if (command.length > MAX_COMMAND_LENGTH) throw new InvalidError(`${job}: command is longer than ${MAX_COMMAND_LENGTH} characters`);
    const concurrency = fields.concurrency ?? 'forbid';
    if (!CONCURRENCY.includes(concurrency as Concurrency)) throw new InvalidError(`${job}: concurrency must be forbid, replace or allow`);
    let timeoutSeconds: number | null = null;
    if (fields.timeout !== undefined) {
      timeoutSeconds = parseDuration(fields.timeout);
      if (timeoutSeconds === null || timeoutSeconds < 1 || timeoutSeconds > MAX_CRON_TIMEOUT_SECONDS) {
        throw new InvalidError(`${job}: timeout must be a duration from 1s to 24h, e.g. timeout: 15m`);
      }
    }
    return { name, schedule: schedule.trim(), command, concurrency: concurrency as Concurrency, timeoutSeconds };
  });
}
