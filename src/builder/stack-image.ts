import { BuildProxy, type BuildPolicy } from '../docker/build-proxy.js';
import type { BuildLimits } from '../docker/build-limits.js';
import type { Logger } from '../log.js';
import { uniqueSuffix } from '../docker/client.js';
import type { Engine } from '../docker/engine.js';
import type { StackImage } from '../domain/stackfile.js';
import { ExternalError } from '../errors.js';
import type { Progress } from '../output/progress.js';

/** Containers a stack's build and verify images run in carry this label (not skiff.app: they are no app instances). */
export const LABEL_STACK_RUN = 'skiff.stack-run';

export interface StackImageRun {
  app: string;
  purpose: 'build' | 'verify';
  image: StackImage;
  env: Record<string, string>;
  /** The bounds where the stackfile sets none: a build or verify image is never unbounded. */
  limits: BuildLimits;
  /** host path → same path inside: CODEBASE means the same thing inside and out, also to a docker CLI in the image. */
  mounts: { path: string; readOnly: boolean }[];
  /** A Docker API that may build $IMAGE only, on a socket of its own (the build image builds with it); never the engine's. */
  buildApi?: BuildPolicy;
  /**
   * Containers the image may reach, each by its alias, on a network made for
   * this run alone (the verify image reaches the new instances there, and
   * nothing else: not the host, not other apps). Without, the default bridge.
   */
  reach?: { container: string; alias: string }[];
}

/**
 * Runs a stack's build or verify image to its end, streaming its output to
 * the pusher, with the stackfile's limits. Returns its exit status. The
 * container is removed whatever happens, also when the push is cancelled.
 */
export interface StackImageRunner {
  run(req: StackImageRun, progress: Progress, signal: AbortSignal): Promise<number>;
  /** Removes build and verify containers of pushes that died; returns their names. */
  sweep(isBuilding: (app: string) => boolean): Promise<string[]>;
}

export class StackImages implements StackImageRunner {
  constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
  ) {}

  async run(req: StackImageRun, progress: Progress, signal: AbortSignal): Promise<number> {
    await this.ensure(req.image.image, progress);
    const api = req.buildApi ? await BuildProxy.start(req.buildApi, (what) => this.log.info({ app: req.app, what }, 'build API refused a request')) : undefined;
    const network = req.reach ? await this.isolatedNetwork(req.app, req.reach) : undefined;
    try {
      return await this.runContainer(req, api, network?.name, progress, signal);
    } finally {
      await api?.close();
      await network?.remove();
    }
  }

  /** A network of its own, internal (no way out), holding only the given containers under their aliases. */
  private async isolatedNetwork(app: string, reach: { container: string; alias: string }[]): Promise<{ name: string; remove(): Promise<void> }> {
    const name = `skiff-${app}-verify-${uniqueSuffix()}`;
    const { networks } = this.engine;
    await networks.create({ Name: name, Internal: true, Labels: { [LABEL_STACK_RUN]: app } });
    const remove = (): Promise<void> =>
      networks.removeWithContainers(name).catch((err: unknown) => this.log.warn({ err, app, network: name }, 'could not remove a verify network'));
    try {
      for (const r of reach) await networks.connect(name, r.container, [r.alias]);
    } catch (err) {
      await remove();
      throw new ExternalError(`could not put the new instances on a network for the verify image: ${(err as Error).message}`, err);
    }
    return { name, remove };
  }

  private async runContainer(
    req: StackImageRun,
    api: BuildProxy | undefined,
    network: string | undefined,
    progress: Progress,
    signal: AbortSignal,
  ): Promise<number> {
    const binds = req.mounts.map((m) => `${m.path}:${m.path}${m.readOnly ? ':ro' : ''}`);
    if (api) binds.push(`${api.socket}:/var/run/docker.sock`);
    const env = { ...req.env, ...(api ? { DOCKER_BUILDKIT: '0' } : {}) };
    const { containers } = this.engine;
    const id = await containers.create({
      name: `skiff-${req.app}-stack-${req.purpose}-${uniqueSuffix()}`,
      Image: req.image.image,
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Labels: { [LABEL_STACK_RUN]: req.app, 'skiff.purpose': req.purpose },
      ...(req.mounts[0] ? { WorkingDir: req.mounts[0].path } : {}),
      HostConfig: {
        Binds: binds,
        Init: true,
        ...(network ? { NetworkMode: network } : {}),
        // The verify image only talks to the instances; a build image needs no raw sockets either (no sniffing the bridge).
        CapDrop: req.purpose === 'verify' ? ['ALL'] : ['NET_RAW'],
        SecurityOpt: ['no-new-privileges'],
        PidsLimit: req.limits.pids,
        Memory: req.image.memoryMb !== null ? req.image.memoryMb * 1024 * 1024 : req.limits.memoryBytes,
        NanoCpus: Math.round((req.image.cpus ?? req.limits.cpus) * 1e9),
      },
    });
    const remove = containers.removerOf(id);
    const onAbort = (): void => void remove();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const stream = await containers.attach(id, { stdin: false });
      const ended = new Promise<void>((resolve) => {
        stream.once('end', resolve);
        stream.once('close', resolve);
      });
      const sink = progress.outputStream();
      containers.demux(stream, sink, sink);
      const exited = containers.nextExit(id);
      await containers.start(id);
      const status = await exited;
      // The last lines may still be on their way after the exit.
      await Promise.race([ended, new Promise((r) => setTimeout(r, 1000).unref())]);
      return signal.aborted ? 255 : status;
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
    const { containers, networks } = this.engine;
    const left = await containers.list([LABEL_STACK_RUN]);
    const stale = left.filter((c) => !isBuilding(c.Labels[LABEL_STACK_RUN] ?? ''));
    await Promise.all(stale.map((c) => containers.remove(c.Id).catch(() => undefined)));
    // And the verify images' networks (an instance still on one is disconnected by the force).
    const verifyNetworks = await networks.list([LABEL_STACK_RUN]);
    for (const n of verifyNetworks.filter((n) => !isBuilding(n.Labels?.[LABEL_STACK_RUN] ?? '')))
      await networks.removeWithContainers(n.Id).catch(() => undefined);
    return stale.map((c) => (c.Names[0] ?? c.Id).replace(/^\//, ''));
  }

  /** Pulls the image when this host does not have it; the stackfile names where it lives. */
  private async ensure(image: string, progress: Progress): Promise<void> {
    const { images } = this.engine;
    if (await images.exists(image)) return;
    progress.info(`Pulling ${image}`);
    try {
      await images.followProgress(await images.pull(image), () => undefined);
    } catch (err) {
      throw new ExternalError(`the image ${image} is not on this host and could not be pulled: ${(err as Error).message.split('\n')[0]}`, err);
    }
  }
}
