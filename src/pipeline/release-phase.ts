import fs from 'node:fs';
import { shellCommand } from '../domain/procfile.js';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import type { Config } from '../config.js';
import { RELEASE_PHASE } from '../domain/formation.js';
import { DeployFailedError } from '../errors.js';
import { capped, MAX_LOG_BYTES } from '../output/capped.js';
import type { Progress } from '../output/progress.js';
import type { Release } from '../domain/entities.js';
import { oneOffSpec } from './one-off.js';
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
 * What the release phase runs, in order: app.json's predeploy, whose
 * changes to the files are kept in the release's image (as Dokku keeps
 * them), then the Procfile's release command, whose changes are not (as on
 * Heroku).
 */
export function releasePhaseCommands(rel: Pick<Release, 'processes' | 'scripts'>): { label: string; command: string; keep: boolean }[] {
  const release = releaseCommand(rel);
  return [
    ...(rel.scripts.predeploy === null ? [] : [{ label: "app.json's predeploy", command: rel.scripts.predeploy, keep: true }]),
    ...(release === undefined ? [] : [{ label: 'the release command', command: release, keep: false }]),
  ];
}

/**
 * The release phase: app.json's predeploy and the Procfile's release
 * command, run once each in a one-off container of the new release (its
 * image, its config, the limits of its release type or else of web), after
 * the release is recorded and before any instance of it starts, while the
 * previous release keeps serving. What predeploy changes becomes the
 * release's image (pushed again when there is a registry). Their output
 * goes to the caller and to the release's log. A non-zero exit, or running
 * past SKIFF_RELEASE_TIMEOUT (all of the phase together; then it is
 * killed), refuses the release.
 */
export async function runReleasePhase(
  deps: Pick<PipelineDeps, 'runtime' | 'config' | 'store' | 'registry' | 'releaseBackups'>,
  rel: Release,
  progress: Progress,
  signal: AbortSignal,
): Promise<void> {
  const commands = releasePhaseCommands(rel);
  if (commands.length === 0) return;
  // Migrations may change the data: a proven backup of it first, that rollback --with-data can take back.
  await deps.releaseBackups.beforeReleasePhase(rel, progress);
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
  const process = deps.store.formation.list(rel.app).some((f) => f.process === RELEASE_PHASE) ? RELEASE_PHASE : 'web';
  const limited = withTimeout(signal, deps.config.releaseTimeoutMs);
  const serving = deps.store.apps.find(rel.app)?.currentRelease;
  const keeps = serving ? `; v${serving} keeps serving` : '';
  try {
    for (const { label, command, keep } of commands) {
      const spec = oneOffSpec(deps, rel, shellCommand(command), { process });
      const status = await deps.runtime.run(keep ? { ...spec, keepAs: rel.image } : spec, {
        stdin: Readable.from([]),
        stdout: both,
        stderr: both,
        signal: limited.signal,
      });
      if (limited.timedOut()) {
        throw new DeployFailedError(
          `${label} ran past SKIFF_RELEASE_TIMEOUT (${deps.config.releaseTimeoutMs / 1000} s) and was stopped; v${rel.version} is not released${keeps}`,
        );
      }
      if (signal.aborted) throw new DeployFailedError(`${label} was stopped: the deploy was cancelled; v${rel.version} is not released${keeps}`);
      if (status !== 0) throw new DeployFailedError(`${label} exited with status ${status}; v${rel.version} is not released${keeps}`);
    }
    if (deps.registry && commands.some((c) => c.keep)) await deps.registry.push([rel.image], progress, signal);
  } finally {
    // Output still on its way through both is written before the log closes.
    await new Promise((resolve) => both.end(resolve));
    await new Promise((resolve) => log.end(resolve));
  }
}

/** A command run in a one-off of a release that serves already (app.json's postdeploy), within SKIFF_RELEASE_TIMEOUT; its output goes to the caller. Returns its exit status. */
export async function runAfterDeploy(
  deps: Pick<PipelineDeps, 'runtime' | 'config' | 'store'>,
  rel: Release,
  command: string,
  progress: Progress,
  signal: AbortSignal,
): Promise<number | 'timed-out'> {
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      progress.output(chunk.toString());
      done();
    },
  });
  const limited = withTimeout(signal, deps.config.releaseTimeoutMs);
  const status = await deps.runtime.run(oneOffSpec(deps, rel, shellCommand(command)), {
    stdin: Readable.from([]),
    stdout: out,
    stderr: out,
    signal: limited.signal,
  });
  return limited.timedOut() ? 'timed-out' : status;
}
