import { createRequire } from 'node:module';

/**
 * YAML, loaded only when something is parsed (a skiff.yml, a stackfile):
 * pushes run in a fresh process each, and most never read YAML.
 */
export function parseYaml(text: string, options?: { version?: '1.1' | '1.2' }): unknown {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml.parse(text, options);
}
