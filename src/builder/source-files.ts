import fs from 'node:fs';
import path from 'node:path';
import { InvalidError } from '../errors.js';

/** Links the kernel follows before it gives up with ELOOP; a chain longer than this is refused too. */
const MAX_LINK_HOPS = 40;
/** Files Skiff itself reads from a checkout (Procfile, skiff.yml, package.json, Dockerfile) are small. */
const MAX_READ_BYTES = 1024 * 1024;

/**
 * Where a path ends up when the kernel resolves it: each component in turn,
 * following every symlink (relative ones from where they stand, absolute
 * ones from /). What does not exist is joined on as text. Undefined when the
 * links loop.
 */
export function resolveReal(absolute: string): string | undefined {
  let pending = absolute.split('/').filter(Boolean);
  let current = '/';
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '.') continue;
    if (part === '..') {
      current = path.dirname(current);
      continue;
    }
    const next = path.join(current, part);
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(next);
    } catch {
      return path.resolve(next, ...pending);
    }
    if (!stat.isSymbolicLink()) {
      current = next;
      continue;
    }
    if (++hops > MAX_LINK_HOPS) return undefined;
    const target = fs.readlinkSync(next);
    if (target.startsWith('/')) current = '/';
    pending = [...target.split('/').filter(Boolean), ...pending];
  }
  return current;
}

function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith('/') ? root : `${root}/`);
}

/**
 * Every symlink in a checkout whose target, as the kernel resolves it, is
 * outside the checkout (or loops), as paths relative to it. A pushed commit
 * may hold such links; nothing Skiff reads, packs or mounts may follow one.
 */
export function escapingLinks(dir: string): string[] {
  const root = fs.realpathSync(dir);
  const found: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else if (entry.isSymbolicLink()) {
        const target = resolveReal(path.join(root, child));
        if (target === undefined || !isInside(root, target)) found.push(child);
      }
    }
  };
  walk('');
  return found;
}

/** Where a checkout's file really is, if that is inside the checkout. */
function containedPath(dir: string, name: string): string | undefined {
  const root = fs.realpathSync(dir);
  const real = resolveReal(path.join(root, name));
  return real !== undefined && isInside(root, real) ? real : undefined;
}

/** Refuses a checkout with a link that leaves it, naming the link: one line, nothing built. */
export function assertContained(dir: string): void {
  const links = escapingLinks(dir);
  if (links.length === 0) return;
  const more = links.length > 1 ? ` (and ${links.length - 1} more)` : '';
  throw new InvalidError(`the symlink ${JSON.stringify(links[0])}${more} points outside the repository; make it relative to a file inside it, or remove it`);
}

/**
 * Reads a file of a checkout, as the server may: undefined when it is not
 * there, refused when its real path leaves the checkout, when it is no
 * regular file, or when it is larger than any manifest should be. The file
 * is opened without following a last link, so what was checked is what is read.
 */
export function readSourceFile(dir: string, name: string): string | undefined {
  const real = containedPath(dir, name);
  if (real === undefined) throw new InvalidError(`${name} is a symlink that points outside the repository; make it a file`);
  let fd: number;
  try {
    fd = fs.openSync(real, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InvalidError(`${name} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new InvalidError(`${name} is not a regular file`);
    if (stat.size > MAX_READ_BYTES) throw new InvalidError(`${name} is larger than ${MAX_READ_BYTES / 1024} KiB`);
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether a checkout has this file (a regular file inside it). */
export function hasSourceFile(dir: string, name: string): boolean {
  const real = containedPath(dir, name);
  if (real === undefined) return false;
  try {
    return fs.statSync(real).isFile();
  } catch {
    return false;
  }
}
