import { createHash } from 'node:crypto';
import { InvalidError } from '../errors.js';
import { parseCronJobs, type CronJob, type ScheduleRules } from './cron.js';
import { MAX_COMMAND_LENGTH, PROCESS_TYPE_PATTERN } from './procfile.js';

/** Commands app.json runs around a deploy, each in a one-off of the release. */
export interface ReleaseScripts {
  /** scripts.dokku.predeploy: run in the release phase, before the Procfile's release command. */
  predeploy: string | null;
  /** scripts.dokku.postdeploy: run after each deploy has switched traffic. */
  postdeploy: string | null;
  /** scripts.postdeploy: run once, after the app's first deploy. */
  firstDeploy: string | null;
}

export const NO_SCRIPTS: ReleaseScripts = { predeploy: null, postdeploy: null, firstDeploy: null };

/** What Skiff takes from an app.json (Heroku's and Dokku's manifest). */
export interface AppJson {
  scripts: ReleaseScripts;
  cron?: CronJob[];
  /** formation: TYPE → quantity, a starting scale. */
  formation?: Record<string, number>;
  /** The path of web's first startup or readiness check that has one. */
  healthcheck?: string;
  /** The keys read, and the top-level keys left alone, for the pusher to see. */
  honoured: string[];
  ignored: string[];
}

const WHERE = 'app.json';

function command(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InvalidError(`${WHERE}: ${field} must be a command`);
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) throw new InvalidError(`${WHERE}: ${field} has a control character`);
  if (value.length > MAX_COMMAND_LENGTH) throw new InvalidError(`${WHERE}: ${field} is longer than ${MAX_COMMAND_LENGTH} characters`);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Dokku's cron entries have no name: each gets one from its schedule and
 * command (`cron-` and 8 hex digits), stable while they do not change, as
 * Dokku's own ids are. Dokku's default concurrency is allow; maintenance
 * entries are paused and left out.
 */
function cronEntries(value: unknown, rules: ScheduleRules): CronJob[] {
  if (!Array.isArray(value)) throw new InvalidError(`${WHERE}: cron must be a list of {command, schedule}`);
  const entries = value.map((entry: unknown, i) => {
    if (!isObject(entry)) throw new InvalidError(`${WHERE}: cron[${i}] must be an object with command and schedule`);
    const { command: cmd, schedule, concurrency_policy: concurrency, maintenance } = entry;
    if (maintenance !== undefined && typeof maintenance !== 'boolean') throw new InvalidError(`${WHERE}: cron[${i}].maintenance must be true or false`);
    const name = `cron-${createHash('sha256')
      .update(`${String(schedule)}\n${String(cmd)}`)
      .digest('hex')
      .slice(0, 8)}`;
    return { maintenance: maintenance === true, job: { name, schedule, command: cmd, concurrency: concurrency ?? 'allow' } };
  });
  return parseCronJobs(
    entries.filter((e) => !e.maintenance).map((e) => e.job),
    WHERE,
    rules,
  );
}

function formationOf(value: unknown): Record<string, number> {
  if (!isObject(value)) throw new InvalidError(`${WHERE}: formation must be an object of process types, e.g. {"web": {"quantity": 2}}`);
  const counts: Record<string, number> = {};
  for (const [type, spec] of Object.entries(value)) {
    if (!PROCESS_TYPE_PATTERN.test(type)) throw new InvalidError(`${WHERE}: formation has an invalid process type '${type.slice(0, 40)}'`);
    if (!isObject(spec)) throw new InvalidError(`${WHERE}: formation.${type} must be an object, e.g. {"quantity": 2}`);
    if (spec.quantity === undefined) continue;
    if (!Number.isInteger(spec.quantity) || (spec.quantity as number) < 0 || (spec.quantity as number) > 100) {
      throw new InvalidError(`${WHERE}: formation.${type}.quantity must be a whole number from 0 to 100`);
    }
    counts[type] = spec.quantity as number;
  }
  return counts;
}

function healthcheckOf(value: unknown): string | undefined {
  if (!isObject(value)) throw new InvalidError(`${WHERE}: healthchecks must be an object of process types`);
  const web = value.web;
  if (web === undefined) return undefined;
  if (!Array.isArray(web)) throw new InvalidError(`${WHERE}: healthchecks.web must be a list of checks`);
  for (const [i, check] of web.entries()) {
    if (!isObject(check)) throw new InvalidError(`${WHERE}: healthchecks.web[${i}] must be an object`);
    const type = check.type ?? 'startup';
    if ((type !== 'startup' && type !== 'readiness') || check.path === undefined) continue;
    if (typeof check.path !== 'string' || !/^\/[\x21-\x7e]{0,1023}$/.test(check.path))
      throw new InvalidError(`${WHERE}: healthchecks.web[${i}].path must be a path starting with /`);
    return check.path;
  }
  return undefined;
}

/**
 * Reads an app.json: scripts (dokku.predeploy, dokku.postdeploy,
 * postdeploy), cron, formation quantities and web's HTTP health check path
 * are honoured; everything else (env, addons, buildpacks, image, …) is
 * listed as ignored. A value Skiff would use but cannot refuses the push.
 */
export function parseAppJson(text: string | undefined, rules: ScheduleRules): AppJson | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InvalidError(`${WHERE} is not valid JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isObject(doc)) throw new InvalidError(`${WHERE} must be a JSON object`);
  const result: AppJson = { scripts: { ...NO_SCRIPTS }, honoured: [], ignored: [] };
  for (const key of Object.keys(doc)) if (!['scripts', 'cron', 'formation', 'healthchecks'].includes(key)) result.ignored.push(key);
  if (doc.scripts !== undefined) {
    if (!isObject(doc.scripts)) throw new InvalidError(`${WHERE}: scripts must be an object`);
    const { dokku, postdeploy } = doc.scripts;
    if (dokku !== undefined) {
      if (!isObject(dokku)) throw new InvalidError(`${WHERE}: scripts.dokku must be an object`);
      if (dokku.predeploy !== undefined) {
        result.scripts.predeploy = command(dokku.predeploy, 'scripts.dokku.predeploy');
        result.honoured.push('scripts.dokku.predeploy');
      }
      if (dokku.postdeploy !== undefined) {
        result.scripts.postdeploy = command(dokku.postdeploy, 'scripts.dokku.postdeploy');
        result.honoured.push('scripts.dokku.postdeploy');
      }
    }
    if (postdeploy !== undefined) {
      result.scripts.firstDeploy = command(postdeploy, 'scripts.postdeploy');
      result.honoured.push('scripts.postdeploy');
    }
    for (const key of Object.keys(doc.scripts)) if (key !== 'dokku' && key !== 'postdeploy') result.ignored.push(`scripts.${key}`);
  }
  if (doc.cron !== undefined) {
    result.cron = cronEntries(doc.cron, rules);
    result.honoured.push('cron');
  }
  if (doc.formation !== undefined) {
    result.formation = formationOf(doc.formation);
    result.honoured.push('formation');
  }
  if (doc.healthchecks !== undefined) {
    result.healthcheck = healthcheckOf(doc.healthchecks);
    result.honoured.push('healthchecks');
  }
  return result;
}
