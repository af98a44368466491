import type { Docker } from '../docker/client.js';
import { followProgress, hasImage } from '../docker/client.js';
import type { StackImage } from '../domain/stackfile.js';
import { ExternalError } from '../errors.js';
import type { Progress } from '../pipeline/progress.js';

/** Containers a stack's build and verify images run in carry this label (not skiff.app: they are no app instances). */
export const LABEL_STACK_RUN = 'skiff.stack-run';

export interface StackImageRun {
  app: string;
  purpose: 'build' | 'verify';
  image: StackImage;
  env: Record<string, string>;
  /** host path → same path inside: CODEBASE means the same thing inside and out, also to a docker CLI in the image. */
  mounts: { path: string; readOnly: boolean }[];
  /** Mount the engine's socket (the build image builds $IMAGE with it). */
  dockerSocket: boolean;
  /** The verify image reaches the new release on the host's loopback. */
  hostNetwork: boolean;
}

/** Where the engine's socket is, to hand to a build image; DOCKER_HOST=unix://… moves it. */
function socketPath(): string {
  const host = process.env.DOCKER_HOST;
  return host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
}

/**
 * Runs a stack's build or verify image to its end, streaming its output to
 * the pusher, with the stackfile's limits. Returns its exit status. The
 * container is removed whatever happens, also when the push is cancelled.
 */
export class StackImages {
  constructor(private readonly docker: Docker) {}

  async run(req: StackImageRun, progress: Progress, signal: AbortSignal): Promise<number> {
    await this.ensure(req.image.image, progress);
    const binds = req.mounts.map((m) => `${m.path}:${m.path}${m.readOnly ? ':ro' : ''}`);
    if (req.dockerSocket) binds.push(`${socketPath()}:/var/run/docker.sock`);
    const container = await this.docker.createContainer({
      name: `skiff-${req.app}-stack-${req.purpose}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`,
      Image: req.image.image,
      Env: Object.entries(req.env).map(([k, v]) => `${k}=${v}`),
      Labels: { [LABEL_STACK_RUN]: req.app, 'skiff.purpose': req.purpose },
      ...(req.mounts[0] ? { WorkingDir: req.mounts[0].path } : {}),
      HostConfig: {
        Binds: binds,
        Init: true,
        ...(req.hostNetwork ? { NetworkMode: 'host' } : {}),
        ...(req.image.memoryMb !== null ? { Memory: req.image.memoryMb * 1024 * 1024 } : {}),
        ...(req.image.cpus !== null ? { NanoCpus: Math.round(req.image.cpus * 1e9) } : {}),
      },
    });
    const remove = (): Promise<void> => container.remove({ force: true }).catch(() => undefined);
    const onAbort = (): void => void remove();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const stream = await container.attach({ stream: true, stdout: true, stderr: true });
      const ended = new Promise<void>((resolve) => {
        stream.once('end', resolve);
        stream.once('close', resolve);
      });
      const sink = progress.outputStream();
      this.docker.modem.demuxStream(stream, sink, sink);
      const exited = container.wait({ condition: 'next-exit' });
      await container.start();
      const { StatusCode } = (await exited) as { StatusCode: number };
      // The last lines may still be on their way after the exit.
      await Promise.race([ended, new Promise((r) => setTimeout(r, 1000).unref())]);
      return signal.aborted ? 255 : StatusCode;
    } catch (err) {
      if (signal.aborted) return 255;
      throw new ExternalError(`could not run the stack's ${req.purpose} image ${req.image.image}: ${(err as Error).message}`, err);
    } finally {
      signal.removeEventListener('abort', onAbort);
      await remove();
    }
  }

  /** Removes build and verify containers left by pushes whose process died (a crash of the server or the hook). */
  async sweep(isBuilding: (app: string) => boolean): Promise<string[]> {
    const left = await this.docker.listContainers({ all: true, filters: { label: [LABEL_STACK_RUN] } });
    const stale = left.filter((c) => !isBuilding(c.Labels[LABEL_STACK_RUN] ?? ''));
    await Promise.all(stale.map((c) => this.docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
    return stale.map((c) => (c.Names[0] ?? c.Id).replace(/^\//, ''));
  }

  /** Pulls the image when this host does not have it; the stackfile names where it lives. */
  private async ensure(image: string, progress: Progress): Promise<void> {
    if (await hasImage(this.docker, image)) return;
    progress.info(`Pulling ${image}`);
    try {
      await followProgress(this.docker, await this.docker.pull(image), () => undefined);
    } catch (err) {
      throw new ExternalError(`the image ${image} is not on this host and could not be pulled: ${(err as Error).message.split('\n')[0]}`, err);
    }
  }
}
