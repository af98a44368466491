import Docker from 'dockerode';
import { ExternalError } from '../errors.js';

export type { Docker };

/** The only place that constructs the Docker client; DOCKER_HOST is honoured by dockerode. */
export function createDocker(): Docker {
  return new Docker();
}

/** Fails with a sentence a user can act on when no engine answers. */
export async function assertDockerAnswers(docker: Docker): Promise<void> {
  try {
    await docker.ping();
  } catch (err) {
    throw new ExternalError('the Docker engine does not answer; start dockerd (npm start does) and try again', err);
  }
}

export function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { statusCode?: number }).statusCode === 404;
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
