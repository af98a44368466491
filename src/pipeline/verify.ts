import { Readable } from 'node:stream';
import { shellCommand } from '../domain/procfile.js';
import type { HealthEntry, StackDefinition } from '../domain/stackfile.js';
import { probeHttp } from '../runtime/http-probe.js';
import type { Instance } from '../runtime/runtime.js';
import { VerifyFailedError } from '../errors.js';
import type { PipelineDeps } from './deps.js';
import type { Progress } from '../output/progress.js';
import { oneOffSpec } from './one-off.js';
import { withTimeout } from './timeout.js';

/**
 * Runs skiff.yml's verify command inside the freshly built image, with the
 * app's config, before anything is released; its output goes to the pusher,
 * and a non-zero exit rejects the push.
 */
export async function verify(
  deps: Pick<PipelineDeps, 'runtime' | 'config' | 'store'>,
  req: { app: string; image: string; command: string; env: Record<string, string> },
  progress: Progress,
  signal: AbortSignal,
): Promise<void> {
  const sink = progress.outputStream();
  const limited = withTimeout(signal, deps.config.verifyTimeoutMs);
  const status = await deps.runtime.run(
    oneOffSpec(deps, { app: req.app, version: 0, image: req.image, config: req.env, port: null }, shellCommand(req.command), { mounts: false }),
    { stdin: Readable.from([]), stdout: sink, stderr: sink, signal: limited.signal },
  );
  if (limited.timedOut())
    throw new VerifyFailedError(`verify command '${req.command}' ran past SKIFF_VERIFY_TIMEOUT (${deps.config.verifyTimeoutMs / 1000} s)`);
  if (status !== 0) throw new VerifyFailedError(`verify command '${req.command}' exited with status ${status}`);
}

/** What a stackfile stack checks of a new release before it gets traffic. */
export interface StackChecks {
  stack: StackDefinition;
  /** The checked-out commit, for the verify image (a push has one; a config change or rollback does not). */
  codebase: string | null;
}

/**
 * The verify image protocol and the stack's health entries, run against the
 * new release's web instances after they start and before traffic moves: the
 * verify image gets ENDPOINT (host:port of each instance, on a network that
 * holds only that instance and the verify container) and CODEBASE; a COMMAND
 * entry runs inside each instance, an HTTP entry must answer 2xx. Any
 * failure rejects the release.
 */
export async function verifyInstances(
  deps: Pick<PipelineDeps, 'runtime' | 'stackImages' | 'config' | 'clock'>,
  app: string,
  checks: StackChecks,
  instances: readonly Instance[],
  progress: Progress,
  signal: AbortSignal,
): Promise<void> {
  const { stack, codebase } = checks;
  const web = instances.filter((i) => i.process === 'web' && i.hostPort !== undefined);
  const verifyImage = stack.service.verify;
  if (verifyImage && codebase !== null) {
    const limited = withTimeout(signal, deps.config.verifyTimeoutMs);
    for (const instance of web.length ? web : [undefined]) {
      const alias = instance ? `${instance.process}-${instance.index}` : '';
      const endpoint = instance ? `${alias}:${stack.service.expose ?? deps.config.appPort}` : '';
      progress.info(`Running the verify image ${verifyImage.image}${instance ? ` against ${instance.process}.${instance.index}` : ''}`);
      const status = await deps.stackImages.run(
        {
          app,
          purpose: 'verify',
          image: verifyImage,
          env: { ENDPOINT: endpoint, CODEBASE: codebase, APP: app },
          limits: { ...deps.config.build, pids: deps.config.pidsLimit },
          mounts: [{ path: codebase, readOnly: true }],
          reach: instance ? [{ container: instance.id, alias }] : [],
        },
        progress,
        limited.signal,
      );
      if (limited.timedOut())
        throw new VerifyFailedError(`the ${stack.name} stack's verify image ran past SKIFF_VERIFY_TIMEOUT (${deps.config.verifyTimeoutMs / 1000} s)`);
      if (signal.aborted) throw new VerifyFailedError('verify cancelled');
      if (status !== 0) throw new VerifyFailedError(`the ${stack.name} stack's verify image exited with status ${status}`);
    }
  }
  for (const entry of stack.service.health) {
    for (const instance of web) await checkHealth(deps, entry, instance, progress, signal);
  }
}

async function checkHealth(
  deps: Pick<PipelineDeps, 'runtime' | 'clock'>,
  entry: HealthEntry,
  instance: Instance,
  progress: Progress,
  signal: AbortSignal,
): Promise<void> {
  const what = entry.protocol === 'COMMAND' ? `'${entry.command}'` : `GET ${entry.path}`;
  let last = '';
  for (let attempt = 1; attempt <= entry.retries; attempt++) {
    if (attempt > 1) await deps.clock.sleep(entry.interval * 1000, signal);
    if (signal.aborted) throw new VerifyFailedError('verify cancelled');
    if (entry.protocol === 'COMMAND') {
      const r = await deps.runtime.exec(instance, ['sh', '-c', entry.command as string], { timeoutMs: entry.timeout * 1000, signal });
      if (r.exitCode === 0) return progress.info(`Health ${what} passed on ${instance.process}.${instance.index}`);
      last = `exited with status ${r.exitCode}${r.output.trim() ? `: ${r.output.trim().split('\n').slice(-1)[0]}` : ''}`;
    } else {
      const status = await probeHttp('127.0.0.1', instance.hostPort as number, entry.path as string, entry.timeout * 1000);
      if (status !== undefined && status >= 200 && status < 300) return progress.info(`Health ${what} passed on ${instance.process}.${instance.index}`);
      last = status === undefined ? 'got no answer' : `answered ${status}`;
    }
  }
  throw new VerifyFailedError(`health check ${what} ${last} (${entry.retries} attempt${entry.retries === 1 ? '' : 's'}); the previous release keeps serving`);
}
