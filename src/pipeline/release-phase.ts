import fs from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import type { Config } from '../config.js';
import { RELEASE_PHASE } from '../domain/formation.js';
import { DeployFailedError } from '../errors.js';
import { capped, MAX_LOG_BYTES } from '../output/capped.js';
import type { Progress } from '../output/progress.js';
import type { Release } from '../store/store.js';
import { appMounts, oneOffLimits } from './converge.js';
import type { PipelineDeps } from './deps.js';
import { withTimeout } from './timeout.js';

/** Where a release phase's output is kept, for releases:output. */
export function releaseLogPath(config: Pick<Config, 'buildsDir'>, app: string, version: number): string {
  return path.join(config.buildsDir, app, `release-v${version}.log`);
}

/** The release command of a release's Procfile, if it has one. */
export function releaseCommand(rel: Pick<Release, 'processes'>): string | undefined {
  return rel.processes[RELEASE_PHASE] ?? undefined;
}

/**
 * The release phase: the Procfile's release command, run once in a one-off
 * container of the new release (its image, its config, the limits of its
 * release type or else of web), after the release is recorded and before any
 * instance of it starts, while the previous release keeps serving. Its output
 * goes to the caller and to the release's log. A non-zero exit, or running
 * past SKIFF_RELEASE_TIMEOUT (then it is killed), refuses the release.
 */
export async function runReleasePhase(
  deps: Pick<PipelineDeps, 'runtime' | 'config' | 'store'>,
  rel: Release,
  progress: Progress,
  signal: AbortSignal,
): Promise<void> {
  const command = releaseCommand(rel);
  if (command === undefined) return;
  const file = releaseLogPath(deps.config, rel.app, rel.version);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const log = fs.createWriteStream(file, { mode: 0o600 });
  const kept = capped(log, MAX_LOG_BYTES);
  const both = new Writable({
    write(chunk: Buffer, _encoding, done) {
      progress.output(chunk.toString());
      kept.write(chunk, done);
    },
  });
  const limits = deps.store.formation.list(rel.app).some((f) => f.process === RELEASE_PHASE) ? oneOffLimits(deps, rel.app, RELEASE_PHASE) : oneOffLimits(deps, rel.app);
  const limited = withTimeout(signal, deps.config.releaseTimeoutMs);
  const serving = deps.store.apps.find(rel.app)?.currentRelease;
  const keeps = serving ? `; v${serving} keeps serving` : '';
  try {
    const status = await deps.runtime.run(
      { app: rel.app, release: rel.version, image: rel.image, env: rel.config, command: ['sh', '-c', command], ...limits, mounts: appMounts(deps, rel.app) },
      { stdin: Readable.from([]), stdout: both, stderr: both, signal: limited.signal },
    );
    if (limited.timedOut()) {
      throw new DeployFailedError(`the release command ran past SKIFF_RELEASE_TIMEOUT (${deps.config.releaseTimeoutMs / 1000} s) and was stopped; v${rel.version} is not released${keeps}`);
    }
    if (signal.aborted) throw new DeployFailedError(`the release command was stopped: the deploy was cancelled; v${rel.version} is not released${keeps}`);
    if (status !== 0) throw new DeployFailedError(`the release command exited with status ${status}; v${rel.version} is not released${keeps}`);
  } finally {
    await new Promise((resolve) => log.end(resolve));
  }
}
