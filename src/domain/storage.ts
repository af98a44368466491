import { InvalidError } from '../errors.js';
import { parseAppName, printable } from './app-name.js';

export const VOLUME_NAME_PATTERN = /^[a-z][a-z0-9-]{0,29}$/;

/** Paths inside a container a volume may not cover: the kernel's and the engine's own. */
const SYSTEM_PATHS = ['/proc', '/sys', '/dev'];

/**
 * [APP/]NAME:/path, as storage:mount takes it: APP/ names another app whose
 * volume this one shares. The path is absolute and plain
 * (letters, digits, . _ - and /; no .., no //, no trailing /): it ends up in
 * a docker --mount option, where a comma or an equals sign would add options.
 */
export function parseMountSpec(input: string): { name: string; path: string; from: string | null } {
  const colon = input.indexOf(':');
  const qualified = colon < 0 ? input : input.slice(0, colon);
  const slash = qualified.indexOf('/');
  const from = slash < 0 ? null : parseAppName(qualified.slice(0, slash));
  const name = qualified.slice(slash + 1);
  const path = colon < 0 ? '' : input.slice(colon + 1);
  if (!VOLUME_NAME_PATTERN.test(name))
    throw new InvalidError(`invalid storage name '${printable(name)}': 1 to 30 lower-case letters, digits and dashes, starting with a letter (NAME:/path)`);
  if (!/^(\/[A-Za-z0-9._-]+)+$/.test(path) || path.length > 200 || path.split('/').some((part) => part === '.' || part === '..')) {
    throw new InvalidError(`invalid mount path '${printable(path)}': an absolute path of letters, digits, '.', '_' and '-', e.g. ${name}:/data`);
  }
  if (SYSTEM_PATHS.some((p) => path === p || path.startsWith(`${p}/`)))
    throw new InvalidError(`cannot mount storage at ${path}: the container's ${path.split('/')[1]} is the kernel's`);
  return { name, path, from };
}

/** The engine's name of an app's volume; '_' is in no app or storage name, so no two (app, name) pairs share one. */
export function volumeName(app: string, name: string): string {
  return `skiff-${app}_${name}`;
}
