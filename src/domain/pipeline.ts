import { createHash } from 'node:crypto';
import { InvalidError } from '../errors.js';

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
  const slug = branch.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  const plain = `${parent}-${slug}`;
  if (slug !== '' && slug === branch && plain.length <= 30) return plain;
  const hash = createHash('sha256').update(branch).digest('hex').slice(0, 5);
  const room = 30 - parent.length - 7;
  const part = slug.slice(0, Math.max(room, 0)).replace(/-+$/, '');
  return part ? `${parent}-${part}-${hash}` : `${parent.slice(0, 24).replace(/-+$/, '')}-${hash}`;
}
