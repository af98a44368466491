import { createRequire } from 'node:module';
import type Docker from 'dockerode';
import { standIn } from '../modules.js';

export type { ContainerCreateOptions, ContainerInfo } from 'dockerode';

const require = createRequire(import.meta.url);

/** A stand-in for a module that exports one function: the real module loads on the stand-in's first call. */
function deferFunctionModule(file: string): void {
  let real: ((...args: unknown[]) => unknown) | undefined;
  standIn(file, (...args: unknown[]): unknown => {
    if (!real) {
      delete require.cache[file];
      real = require(file) as (...args: unknown[]) => unknown;
    }
    return real(...args);
  });
}

/**
 * dockerode loads gRPC at start for BuildKit sessions, and docker-modem loads
 * ssh2 for ssh:// engines: some 20 MB that stay in memory, and a tenth of a
 * second at every start of a push's hook. Skiff builds with the classic
 * builder and talks to a local socket unless DOCKER_HOST says ssh://, so both
 * load only when first used.
 */
function loadDockerode(): typeof Docker {
  deferFunctionModule(require.resolve('dockerode/lib/session.js'));
  deferFunctionModule(createRequire(require.resolve('dockerode')).resolve('docker-modem/lib/ssh.js'));
  return require('dockerode') as typeof Docker;
}

/** The only place that constructs the Docker client; DOCKER_HOST is honoured by dockerode. */
export function createDocker(): Docker {
  const Dockerode = loadDockerode();
  return new Dockerode();
}

export function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { statusCode?: number }).statusCode === 404;
}

/** What the engine answers, or undefined when it says there is no such thing (404). */
export async function unlessNotFound<T>(answer: Promise<T>): Promise<T | undefined> {
  try {
    return await answer;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** 409: the name is taken, or the thing is in use (an image a container or another image needs). */
export function isConflict(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { statusCode?: number }).statusCode === 409;
}

/** A name part no other run of the same thing will have: time and randomness, short enough for a container name. */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** NAME[:TAG] → [repository, tag], as the engine's tag and push calls take them; a colon before the last slash is a registry's port. */
export function imageRepoTag(image: string): [string, string] {
  const colon = image.lastIndexOf(':');
  return colon > image.lastIndexOf('/') ? [image.slice(0, colon), image.slice(colon + 1)] : [image, 'latest'];
}

export function isNotModified(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { statusCode?: number }).statusCode === 304;
}

/** Docker's multiplexed log stream (8-byte frame headers) as text, for non-TTY containers. */
export function demuxLogs(buf: Buffer): string {
  let out = '';
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + size).toString();
    i += 8 + size;
  }
  return i === 0 ? buf.toString() : out;
}

/** What the engine said went wrong (its JSON message), else the error's own. */
export function dockerMessage(err: unknown): string {
  const json = (err as { json?: { message?: string } }).json;
  if (json?.message) return json.message;
  return err instanceof Error ? err.message : String(err);
}
