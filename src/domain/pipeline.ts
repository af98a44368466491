import { createHash } from 'node:crypto';
import { InvalidError } from '../errors.js';
import { parseCpus, parseMemory, PROCESS_TYPE_PATTERN } from './procfile.js';
import { scalarText } from './yaml.js';

/** A pipeline's stages, in the order an image goes through them. */
export const STAGES = ['review', 'staging', 'production'] as const;
export type Stage = (typeof STAGES)[number];

export function parseStage(input: string | undefined): Stage {
  if (!STAGES.includes(input as Stage)) throw new InvalidError(`--stage must be one of ${STAGES.join(', ')}`);
  return input as Stage;
}

/** The stage a promotion from this one goes to; none after production. */
export function nextStage(stage: Stage): Stage | undefined {
  return STAGES[STAGES.indexOf(stage) + 1];
}

/**
 * The name of a branch's review app: PARENT-BRANCH when the branch is
 * already a clean name part and it fits; otherwise the branch made one
 * (lower-case, runs of other characters as one dash), cut to fit, and five
 * hex digits of the branch, so two branches never share a review app.
 * Always a valid app name (at most 30 characters, not ending in a dash).
 */
export function reviewAppName(parent: string, branch: string): string {
  const slug = branch
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  const plain = `${parent}-${slug}`;
  if (slug !== '' && slug === branch && plain.length <= 30) return plain;
  const hash = createHash('sha256').update(branch).digest('hex').slice(0, 5);
  const room = 30 - parent.length - 7;
  const part = slug.slice(0, Math.max(room, 0)).replace(/-+$/, '');
  return part ? `${parent}-${part}-${hash}` : `${parent.slice(0, 24).replace(/-+$/, '')}-${hash}`;
}

/** What skiff.yml's environments: says for one stage: scale, limits and health check on top of the rest. */
export interface Overlay {
  scale?: Record<string, number>;
  resources?: Record<string, { memory?: number | null; cpus?: number | null }>;
  healthcheck?: string;
}

export type Overlays = Partial<Record<Stage, Overlay>>;

function mapping(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidError(`${what} must be a mapping`);
  return value as Record<string, unknown>;
}

/** skiff.yml's environments: { production: { scale: {web: 3}, resources: {web: {memory: 512m}}, healthcheck: /health } }. */
export function parseOverlays(value: unknown): Overlays {
  const where = 'skiff.yml: environments';
  const overlays: Overlays = {};
  for (const [stage, raw] of Object.entries(mapping(value, where))) {
    if (!STAGES.includes(stage as Stage)) throw new InvalidError(`${where}: '${stage.slice(0, 40)}' is no stage (${STAGES.join(', ')})`);
    const at = `${where}.${stage}`;
    const fields = mapping(raw, at);
    const unknown = Object.keys(fields).filter((k) => !['scale', 'resources', 'healthcheck'].includes(k));
    if (unknown.length) throw new InvalidError(`${at}: unknown field ${unknown.join(', ')} (known: scale, resources, healthcheck)`);
    const overlay: Overlay = {};
    if (fields.scale !== undefined) {
      overlay.scale = {};
      for (const [type, n] of Object.entries(mapping(fields.scale, `${at}.scale`))) {
        if (!PROCESS_TYPE_PATTERN.test(type)) throw new InvalidError(`${at}.scale: '${type.slice(0, 40)}' is not a process type`);
        if (!Number.isInteger(n) || (n as number) < 0 || (n as number) > 100)
          throw new InvalidError(`${at}.scale.${type} must be a whole number from 0 to 100`);
        overlay.scale[type] = n as number;
      }
    }
    if (fields.resources !== undefined) {
      overlay.resources = {};
      for (const [type, limits] of Object.entries(mapping(fields.resources, `${at}.resources`))) {
        if (!PROCESS_TYPE_PATTERN.test(type)) throw new InvalidError(`${at}.resources: '${type.slice(0, 40)}' is not a process type`);
        const l = mapping(limits, `${at}.resources.${type}`);
        const extra = Object.keys(l).filter((k) => k !== 'memory' && k !== 'cpus');
        if (extra.length) throw new InvalidError(`${at}.resources.${type}: unknown field ${extra.join(', ')} (known: memory, cpus)`);
        try {
          overlay.resources[type] = {
            ...(l.memory === undefined
              ? {}
              : {
                  memory: parseMemory(
                    scalarText(l.memory, () => {
                      throw new InvalidError('memory must be a size such as 512m');
                    }),
                  ),
                }),
            ...(l.cpus === undefined
              ? {}
              : {
                  cpus: parseCpus(
                    scalarText(l.cpus, () => {
                      throw new InvalidError('cpus must be a number such as 0.5');
                    }),
                  ),
                }),
          };
        } catch (err) {
          throw new InvalidError(`${at}.resources.${type}: ${(err as Error).message}`);
        }
      }
    }
    if (fields.healthcheck !== undefined) {
      if (typeof fields.healthcheck !== 'string' || !/^\/[\x21-\x7e]{0,1023}$/.test(fields.healthcheck))
        throw new InvalidError(`${at}.healthcheck must be a path starting with /`);
      overlay.healthcheck = fields.healthcheck;
    }
    overlays[stage as Stage] = overlay;
  }
  return overlays;
}
