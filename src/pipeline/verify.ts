import { Readable, Writable } from 'node:stream';
import { VerifyFailedError } from '../errors.js';
import type { PipelineDeps } from './deps.js';
import type { Progress } from './progress.js';

/**
 * Runs skiff.yml's verify command inside the freshly built image, with the
 * app's config, before anything is released; its output goes to the pusher,
 * and a non-zero exit rejects the push.
 */
export async function verify(
  deps: Pick<PipelineDeps, 'runtime'>,
  req: { app: string; image: string; command: string; env: Record<string, string> },
  progress: Progress,
  signal: AbortSignal,
): Promise<void> {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      progress.output(chunk.toString());
      done();
    },
  });
  const status = await deps.runtime.run(
    { app: req.app, release: 0, image: req.image, env: req.env, command: ['sh', '-c', req.command] },
    { stdin: Readable.from([]), stdout: sink, stderr: sink, signal },
  );
  if (status !== 0) throw new VerifyFailedError(`verify command '${req.command}' exited with status ${status}`);
}
