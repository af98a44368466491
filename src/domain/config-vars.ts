import { InvalidError } from '../errors.js';
import { printable } from './app-name.js';

export const CONFIG_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Per value, and for all of an app's values together: the environment of a container is no place for files. */
export const MAX_CONFIG_VALUE_BYTES = 32 * 1024;
export const MAX_CONFIG_TOTAL_BYTES = 256 * 1024;
/** Set by Skiff itself; a user value would be overwritten. */
const RESERVED_KEYS = new Set(['PORT']);

export function parseConfigKey(key: string): string {
  if (!CONFIG_KEY_PATTERN.test(key)) {
    throw new InvalidError(`invalid config key '${printable(key)}': use letters, digits and '_', not starting with a digit`);
  }
  if (RESERVED_KEYS.has(key)) throw new InvalidError(`${key} is set by Skiff; choose another name`);
  return key;
}

/** Parses KEY=VALUE words; the value is everything after the first '=' and is kept byte for byte. */
export function parseAssignments(words: readonly string[]): Record<string, string> {
  if (words.length === 0) throw new InvalidError('give at least one KEY=VALUE');
  const vars: Record<string, string> = {};
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq <= 0) throw new InvalidError(`'${printable(word)}' is not KEY=VALUE`);
    const key = parseConfigKey(word.slice(0, eq));
    const value = word.slice(eq + 1);
    if (value.includes('\0')) throw new InvalidError(`the value of ${key} contains a NUL byte`);
    if (Buffer.byteLength(value) > MAX_CONFIG_VALUE_BYTES) {
      throw new InvalidError(`the value of ${key} is too large (at most ${MAX_CONFIG_VALUE_BYTES / 1024} KiB)`);
    }
    vars[key] = value;
  }
  return vars;
}

export function assertConfigSize(vars: Record<string, string>): void {
  const total = Object.entries(vars).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  if (total > MAX_CONFIG_TOTAL_BYTES) {
    throw new InvalidError(`an app's config may hold at most ${MAX_CONFIG_TOTAL_BYTES / 1024} KiB; unset something first`);
  }
}

/** "Set FOO", "Set FOO, BAR", "Unset FOO": a release description naming keys, never values. */
export function describeConfigChange(verb: 'Set' | 'Unset', keys: readonly string[]): string {
  return `${verb} ${keys.join(', ')}`;
}
