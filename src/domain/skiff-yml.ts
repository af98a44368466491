import { InvalidError } from '../errors.js';
import { parseCronJobs, type CronJob, type ScheduleRules } from './cron.js';
import { parseOverlays, type Overlays } from './pipeline.js';
import { parseYaml } from './yaml.js';

/** What an app's optional skiff.yml may say. */
export interface AppManifest {
  /** A command run inside the freshly built image before release, e.g. `npm test`; non-zero rejects the push. */
  verify?: string;
  /** A path each new web instance must answer with a 2xx before traffic moves to it. */
  healthcheck?: string;
  /** Scheduled jobs, versioned with the release. */
  cron?: CronJob[];
  /** Per pipeline stage: scale, limits and health check on top of the rest. */
  environments?: Overlays;
}

const KNOWN = ['verify', 'healthcheck', 'cron', 'environments'];

export function parseAppManifest(text: string | undefined, rules: ScheduleRules = { seconds: false }): AppManifest {
  if (text === undefined || text.trim() === '') return {};
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new InvalidError(`skiff.yml is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new InvalidError('skiff.yml must be a mapping, e.g. verify: npm test');
  const fields = doc as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((k) => !KNOWN.includes(k));
  if (unknown.length) throw new InvalidError(`skiff.yml: unknown field ${unknown.join(', ')} (known: ${KNOWN.join(', ')})`);
  const manifest: AppManifest = {};
  if (fields.verify !== undefined) {
    if (typeof fields.verify !== 'string' || fields.verify.trim() === '') throw new InvalidError('skiff.yml: verify must be a command, e.g. verify: npm test');
    manifest.verify = fields.verify;
  }
  if (fields.healthcheck !== undefined) {
    if (typeof fields.healthcheck !== 'string' || !/^\/[\x21-\x7e]{0,1023}$/.test(fields.healthcheck)) {
      throw new InvalidError('skiff.yml: healthcheck must be a path starting with /, e.g. healthcheck: /health');
    }
    manifest.healthcheck = fields.healthcheck;
  }
  if (fields.cron !== undefined && fields.cron !== null) manifest.cron = parseCronJobs(fields.cron, 'skiff.yml', rules);
  if (fields.environments !== undefined && fields.environments !== null) manifest.environments = parseOverlays(fields.environments);
  return manifest;
}
