import { LABEL_APP, LABEL_APP_ID } from '../domain/names.js';
import { InvalidError } from '../errors.js';
import { dockerfileParser } from './base-images.js';

/**
 * The Dockerfile with the app's labels set right after its final stage's
 * FROM. Labels passed to the build API land after the app's own steps, where
 * a changed COPY leaves them uncached: every warm push paid one more commit.
 * Set after FROM they hit the cache, but the app's own steps come after them,
 * so the Dockerfile may not set a skiff.* label (refused here, by the word
 * as written) and the built image's labels are checked again (imageIsApps):
 * a key the engine spells out of a variable or an escape is caught there.
 * A Dockerfile without FROM is left as it is: the engine refuses it.
 */
export function withAppLabels(dockerfile: string, labels: Record<string, string>): string {
  const parsed = dockerfileParser().parse(dockerfile);
  for (const instruction of parsed.getInstructions()) {
    if (instruction.getKeyword() !== 'LABEL') continue;
    for (const property of (instruction as unknown as { getProperties(): { getName(): string }[] }).getProperties()) {
      const key = property.getName().replace(/["'\\`]/g, '');
      if (key.toLowerCase().startsWith('skiff.')) {
        const line = instruction.getRange().start.line + 1;
        throw new InvalidError(`the Dockerfile sets the label ${key} (line ${line}); skiff.* labels are Skiff's own: remove it`);
      }
    }
  }
  const last = parsed.getFROMs().at(-1);
  if (!last) return dockerfile;
  const pairs = Object.entries(labels).map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`);
  const lines = dockerfile.split('\n');
  const end = last.getRange().end.line;
  lines.splice(end + 1, 0, `LABEL ${pairs.join(' ')}`);
  return lines.join('\n');
}

/** Whether a built image carries exactly the app's own identity labels. */
export function imageIsApps(imageLabels: Record<string, string> | null | undefined, app: string, appId: string | undefined): boolean {
  return imageLabels?.[LABEL_APP] === app && imageLabels[LABEL_APP_ID] === appId;
}
