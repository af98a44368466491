import { createRequire } from 'node:module';

/**
 * YAML, loaded only when something is parsed (a skiff.yml, a stackfile):
 * pushes run in a fresh process each, and most never read YAML.
 */
/** A YAML scalar as text (a number written bare is text too); a mapping or a list is refused by `refuse`. */
export function scalarText(value: unknown, refuse: () => never): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return refuse();
}

export function parseYaml(text: string, options?: { version?: '1.1' | '1.2' }): unknown {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml.parse(text, options);
}
