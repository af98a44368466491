import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerInfo } from '../docker/client.js';
import { demuxLogs, dockerMessage, imageRepoTag, isConflict, isNotFound, isNotModified, uniqueSuffix } from '../docker/client.js';
import type { CommitConfig } from '../docker/containers.js';
import type { Engine } from '../docker/engine.js';
import { DeployFailedError, ExternalError, InvalidError } from '../errors.js';
import {
  APPS_NETWORK,
  LABEL_APP,
  LABEL_APP_ID,
  LABEL_CRON_RUN,
  LABEL_KEPT_FROM,
  LABEL_RUNTIME,
  LABEL_INSTANCE,
  LABEL_PROCESS,
  LABEL_RELEASE,
  appLabels,
} from '../domain/names.js';
import type { Logger } from '../log.js';
import { ATTACHED, containerSpec, limits, processEnv, volumeMounts } from './container-spec.js';
import { allExited, containerInit } from './container-process.js';
import { findFreePort } from './free-port.js';
import { probeHttp } from './http-probe.js';
import type {
  DeployOptions,
  FormationSpec,
  Instance,
  LogOptions,
  NodeChange,
  NodeInfo,
  NodeOptions,
  OneOffIO,
  OneOffSpec,
  ProcessSpec,
  Rollout,
  Runtime,
  StartOptions,
} from './runtime.js';
import type { LogLine } from './log-lines.js';
import { followLogs, type LogSource } from './log-follower.js';
import { rollInstances } from './instance-rollout.js';
import { runAttached } from './attached-run.js';

const ONE_OFF = 'run';
const LOOPBACK = '127.0.0.1';

/** An image's ENTRYPOINT as the arguments an exec starts with (a string is the shell form). */
function toArgs(v: string[] | string | null | undefined): string[] {
  if (v === null || v === undefined) return [];
  return typeof v === 'string' ? ['sh', '-c', v] : v;
}

export interface DockerRuntimeOptions {
  stopTimeoutSeconds: number;
}

/** Runs each process instance as a labelled container on this host's Docker engine. */
export class DockerRuntime implements Runtime {
  readonly name: string = 'docker';

  constructor(
    protected readonly engine: Engine,
    private readonly options: DockerRuntimeOptions,
    protected readonly log: Logger,
  ) {}

  deploy(app: string, formation: readonly FormationSpec[], options: DeployOptions): Promise<Rollout> {
    return rollInstances(this, app, formation, options, this.log);
  }

  async unavailable(): Promise<string | undefined> {
    return undefined;
  }

  /** Instances run on this host alone. */
  async nodes(): Promise<NodeInfo[]> {
    return [];
  }

  async thisNode(): Promise<string | null> {
    return null;
  }

  async joinCommand(): Promise<string> {
    throw this.oneHost();
  }

  async setAvailability(_node: string, _availability: 'active' | 'drain', _options: NodeOptions): Promise<NodeChange> {
    throw this.oneHost();
  }

  async removeNode(_node: string, _options: NodeOptions): Promise<NodeChange> {
    throw this.oneHost();
  }

  private oneHost(): InvalidError {
    return new InvalidError(`the ${this.name} runtime runs on this host alone; nodes are the swarm runtime's`);
  }

  /** Starts one instance and returns once it is ready (a web process answers HTTP; others stay up), or removes it and throws. */
  async start(spec: ProcessSpec, { readyTimeoutMs, progress, signal }: StartOptions): Promise<Instance> {
    // Published on loopback only: the router is the way in.
    const hostPort = spec.port === null ? null : (spec.hostPort ?? (await findFreePort(LOOPBACK)));
    const create = containerSpec(spec, LOOPBACK, hostPort, uniqueSuffix());
    const name = `${spec.process}.${spec.index}`;
    let created: string | undefined;
    let id: string;
    try {
      id = await progress.time(`start ${name}`, async () => {
        await this.ensureNetwork();
        created = await this.engine.containers.create(create);
        await this.joinServiceNetworks(created, spec);
        await this.engine.containers.start(created);
        return created;
      });
    } catch (err) {
      if (created !== undefined) await this.removeContainer(created);
      throw new DeployFailedError(`could not start ${name}: ${dockerMessage(err)}`, err);
    }
    try {
      if (hostPort !== null)
        await progress.time(`health ${name}`, () => this.waitUntilAnswering(id, LOOPBACK, hostPort, spec.healthcheck ?? null, readyTimeoutMs, signal));
      else await progress.time(`settle ${name}`, () => this.waitUntilSettled(id, signal));
    } catch (err) {
      const tail = await this.tailLogs(id, 20);
      if (tail.trim() !== '') {
        progress.info(`Last lines of ${name}:`);
        progress.output(tail);
      }
      await this.removeContainer(id);
      throw err;
    }
    return {
      id,
      name: String(create.name),
      app: spec.app,
      release: spec.release,
      process: spec.process,
      index: spec.index,
      state: 'running',
      hostPort: hostPort ?? undefined,
    };
  }

  /** A process without a port is ready when it is still up after a moment. */
  private async waitUntilSettled(id: string, signal: AbortSignal): Promise<void> {
    await sleep(1000, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) throw new DeployFailedError('deploy cancelled');
    const { State } = await this.engine.containers.inspect(id);
    if (!State.Running || State.Restarting) {
      throw new DeployFailedError(`the new release exited with status ${State.ExitCode} right after it started; the previous release keeps running`);
    }
  }

  private async waitUntilAnswering(id: string, host: string, port: number, healthcheck: string | null, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastStatus: number | undefined;
    // Asked again soon at first (most apps answer within a few milliseconds of their start), then every 50 ms:
    // an app that takes a few hundred milliseconds to start (node loading its modules) is seen within 50 ms of it.
    for (let wait = 5; ; wait = Math.min(wait * 2, 50)) {
      if (signal.aborted) throw new DeployFailedError('deploy cancelled');
      lastStatus = await probeHttp(host, port, healthcheck ?? '/', 1000);
      if (lastStatus !== undefined && (!healthcheck || (lastStatus >= 200 && lastStatus < 300))) return;
      const { State } = await this.engine.containers.inspect(id);
      if (!State.Running || State.Restarting) {
        throw new DeployFailedError(`the new release exited with status ${State.ExitCode} before it answered HTTP; the previous release keeps serving`);
      }
      if (Date.now() > deadline) {
        throw new DeployFailedError(
          healthcheck && lastStatus !== undefined
            ? `the new release answered ${healthcheck} with ${lastStatus}, not 2xx, for ${Math.round(timeoutMs / 1000)}s; the previous release keeps serving`
            : `the new release did not answer HTTP on its PORT within ${Math.round(timeoutMs / 1000)}s; the previous release keeps serving`,
        );
      }
      await sleep(wait);
    }
  }

  async stop(instances: readonly Instance[]): Promise<void> {
    // Stopped together: each may take up to the stop timeout to finish its work.
    await Promise.all(instances.map((i) => this.removeContainer(i.id)));
  }

  /**
   * Stops instances and resolves once their processes have exited, as this
   * host's /proc shows, while the engine still tears the containers down
   * (about 170 ms each on this engine); when /proc cannot tell (an engine on
   * another host), once they are removed.
   */
  async vacate(instances: readonly Instance[]): Promise<{ removed: () => Promise<void> }> {
    // Found before the stop begins, so that a pid read is the container's own init.
    const inits = await Promise.all(
      instances.map(async (i) => {
        const info = await this.engine.containers.inspect(i.id).catch(() => undefined);
        return info ? containerInit(info.State.Pid, info.Id) : null;
      }),
    );
    const removal = this.stop(instances);
    // Awaited through removed(); until then a failure is not unhandled.
    removal.catch(() => undefined);
    const known = inits.filter((pid): pid is number => pid !== null);
    await (known.length === inits.length ? Promise.race([removal, allExited(known)]) : removal);
    return { removed: () => removal };
  }

  /** The app's long-running instances; one-off runs are not among them and survive a release. */
  async status(app: string): Promise<Instance[]> {
    const containers = await this.engine.containers.list([`${LABEL_APP}=${app}`]);
    return containers
      .filter((c) => this.owns(c))
      .map(toInstance)
      .filter((i) => i.process !== ONE_OFF)
      .sort((a, b) => a.release - b.release || a.name.localeCompare(b.name));
  }

  /**
   * Whether a container of an app is this runtime's: swarm's tasks and the
   * containers systemd units run carry the app's labels too, and an app that
   * moves between runtimes has both for a while.
   */
  protected owns(c: ContainerInfo): boolean {
    return isInstance(c) && !c.Labels['com.docker.swarm.service.id'] && c.Labels[LABEL_RUNTIME] === undefined;
  }

  async destroy(app: string): Promise<void> {
    await this.stop(await this.status(app));
    const oneOffs = await this.engine.containers.list([`${LABEL_APP}=${app}`, `${LABEL_PROCESS}=${ONE_OFF}`]);
    await Promise.all(oneOffs.map((c) => this.engine.containers.remove(c.Id).catch(() => undefined)));
  }

  /**
   * Puts a created container on the networks of the app's linked services
   * too (the engine takes one network at creation): each service's network
   * has only the service and its linked apps' containers on it.
   */
  protected async joinServiceNetworks(id: string, spec: { networks?: readonly string[] }): Promise<void> {
    for (const network of spec.networks ?? []) await this.engine.networks.connect(network, id);
  }

  /** The apps' network, made before the first container: a bridge on which no container reaches another. */
  async ensureNetwork(): Promise<void> {
    await this.engine.networks.ensureBridge(APPS_NETWORK, { 'skiff.network': 'apps' }, { 'com.docker.network.bridge.enable_icc': 'false' });
  }

  async logs(app: string, options: LogOptions, onLine: (line: LogLine) => void): Promise<void> {
    return this.containerLogs(() => this.status(app), options, onLine);
  }

  /** The app's containers on this engine, swarm tasks included: for runtimes that run containers by other means. */
  async containers(app: string): Promise<Instance[]> {
    const containers = await this.engine.containers.list([`${LABEL_APP}=${app}`]);
    return containers
      .filter(isInstance)
      .map(toInstance)
      .filter((i) => i.process !== ONE_OFF);
  }

  /** Recent lines of the listed containers merged by time, then, with follow, new lines of them and of new running ones. */
  containerLogs(list: () => Promise<Instance[]>, options: LogOptions, onLine: (line: LogLine) => void): Promise<void> {
    const sources = async (later: boolean): Promise<LogSource[]> =>
      (await list()).filter((i) => (!options.process || i.process === options.process) && (!later || i.state === 'running')).map((i) => this.logSource(i));
    return followLogs(this.engine, sources, options, onLine);
  }

  private logSource(i: Instance): LogSource {
    const { containers } = this.engine;
    return {
      id: i.id,
      name: (line) => ({ ...line, source: `${i.process}.${i.index}` }),
      recent: (tail) => containers.recentLogs(i.id, { tail, timestamps: true }),
      follow: (since) => containers.followLogs(i.id, since),
    };
  }

  async run(spec: OneOffSpec, io: OneOffIO): Promise<number> {
    if (spec.keepAs !== undefined) return this.runKept({ ...spec, keepAs: spec.keepAs }, io);
    const tty = io.tty !== undefined;
    await this.ensureNetwork();
    const { containers } = this.engine;
    const id = await containers.create({
      name: `skiff-${spec.app}-run-${uniqueSuffix()}`,
      Image: spec.image,
      Cmd: spec.command,
      Env: Object.entries(processEnv(spec)).map(([k, v]) => `${k}=${v}`),
      Labels: {
        ...appLabels(spec.app, spec.appId),
        [LABEL_RELEASE]: String(spec.release),
        [LABEL_PROCESS]: ONE_OFF,
        ...(spec.cronRun === undefined ? {} : { [LABEL_CRON_RUN]: String(spec.cronRun) }),
      },
      Tty: tty,
      ...ATTACHED,
      HostConfig: { Init: true, NetworkMode: APPS_NETWORK, ...volumeMounts(spec), ...limits(spec) },
    });
    return runAttached(this.engine, id, tty, io, () => this.joinServiceNetworks(id, spec));
  }

  /**
   * A one-off whose changes to the files are kept: an idle container of the
   * image with nothing of the release in its environment, the command
   * exec'd in it (behind the image's ENTRYPOINT, as a start would run it)
   * with the release's environment, and on exit 0 the container committed
   * as keepAs. The environment reaches the command's process only, so no
   * config value is written into the image (the engine adds the container's
   * labels, skiff.process and skiff.release, which every container Skiff
   * starts sets for itself). It starts from the image an
   * earlier keep ran on, when this image is one (a config change runs
   * predeploy again; it must not stack a layer per release).
   */
  private async runKept(spec: OneOffSpec & { keepAs: string }, io: OneOffIO): Promise<number> {
    const source = await this.keptSource(spec);
    await this.ensureNetwork();
    const { containers } = this.engine;
    const id = await containers.create({
      name: `skiff-${spec.app}-run-${uniqueSuffix()}`,
      Image: source.id,
      // A shell reading a stdin nobody writes to: idle, whatever the image has besides.
      Entrypoint: [],
      Cmd: ['sh'],
      OpenStdin: true,
      Labels: { ...appLabels(spec.app, spec.appId), [LABEL_RELEASE]: String(spec.release), [LABEL_PROCESS]: ONE_OFF },
      HostConfig: { Init: true, NetworkMode: APPS_NETWORK, ...volumeMounts(spec), ...limits(spec) },
    });
    const remove = containers.removerOf(id);
    const onAbort = (): void => void remove();
    io.signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (io.signal.aborted) return 255;
      await this.joinServiceNetworks(id, spec);
      await containers.start(id);
      const run = await containers.exec(id, [...source.entrypoint, ...spec.command], processEnv(spec));
      containers.demux(run.stream, io.stdout, io.stderr);
      await new Promise<void>((resolve) => {
        run.stream.once('end', resolve);
        run.stream.once('close', resolve);
      });
      if (io.signal.aborted) return 255;
      const status = (await run.exitCode()) ?? 255;
      if (status !== 0) return status;
      const [repo, tag] = imageRepoTag(spec.keepAs);
      await containers.commit(id, repo, tag, { ...source.config, Labels: { ...source.config.Labels, [LABEL_KEPT_FROM]: source.id } });
      return 0;
    } catch (err) {
      if (io.signal.aborted) return 255;
      throw new ExternalError(`could not run the command: ${dockerMessage(err)}`, err);
    } finally {
      io.signal.removeEventListener('abort', onAbort);
      await remove();
    }
  }

  /**
   * The image a kept one-off starts from, and the config its commit
   * restores: the image an earlier keep ran on when this one is its commit.
   * The label is only followed to the image's own parent, of the same app:
   * a Dockerfile can write any label, and must not start an app's predeploy
   * from another app's image.
   */
  private async keptSource(spec: OneOffSpec): Promise<{ id: string; entrypoint: string[]; config: CommitConfig }> {
    let inspected = await this.engine.images.inspect(spec.image);
    const from = inspected.Config.Labels?.[LABEL_KEPT_FROM];
    // No parent where the image came from a registry to a host that never ran the keep: then it stacks, once.
    if (from && inspected.Parent === from) {
      const parent = await this.engine.images.find(from);
      const labels = parent?.Config.Labels ?? {};
      if (parent && labels[LABEL_APP] === spec.app && labels[LABEL_APP_ID] === spec.appId) inspected = parent;
    }
    const c = inspected.Config;
    return {
      id: inspected.Id,
      entrypoint: toArgs(c.Entrypoint),
      config: { Cmd: c.Cmd, Entrypoint: c.Entrypoint, Env: c.Env, Labels: c.Labels ?? {}, WorkingDir: c.WorkingDir, User: c.User },
    };
  }

  async stopCronRuns(app: string, run?: number): Promise<number> {
    const label = run === undefined ? LABEL_CRON_RUN : `${LABEL_CRON_RUN}=${run}`;
    const runs = await this.engine.containers.list([`${LABEL_APP}=${app}`, label]);
    await Promise.all(runs.map((c) => this.removeContainer(c.Id)));
    return runs.length;
  }

  async exec(
    instance: Instance,
    command: string[],
    { timeoutMs, signal }: { timeoutMs: number; signal: AbortSignal },
  ): Promise<{ exitCode: number; output: string }> {
    const { stream, exitCode } = await this.engine.containers.exec(instance.id, command);
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise<'ended'>((resolve) => {
      stream.once('end', () => resolve('ended'));
      stream.once('close', () => resolve('ended'));
    });
    const stopTimer = new AbortController();
    const timer = sleep(timeoutMs, 'timeout' as const, { signal: AbortSignal.any([signal, stopTimer.signal]) }).catch(() => 'timeout' as const);
    const how = await Promise.race([ended, timer]);
    stopTimer.abort();
    stream.destroy();
    const output = demuxLogs(Buffer.concat(chunks));
    if (how === 'timeout') return { exitCode: 124, output: `${output}(timed out after ${timeoutMs / 1000}s)\n` };
    return { exitCode: (await exitCode()) ?? 1, output };
  }

  private async removeContainer(idOrName: string): Promise<void> {
    const { containers } = this.engine;
    try {
      await containers.stop(idOrName, this.options.stopTimeoutSeconds);
    } catch (err) {
      if (isNotFound(err)) return;
      if (!isNotModified(err)) this.log.warn({ err, container: idOrName }, 'stop failed; removing by force');
    }
    try {
      await containers.remove(idOrName);
    } catch (err) {
      // 409: removal already under way.
      if (isNotFound(err) || isConflict(err)) return;
      throw new ExternalError(`could not remove container ${idOrName}: ${dockerMessage(err)}`, err);
    }
  }

  private async tailLogs(id: string, lines: number): Promise<string> {
    try {
      const buf = await this.engine.containers.recentLogs(id, { tail: lines });
      return demuxLogs(buf);
    } catch {
      return '';
    }
  }
}

/**
 * Whether a container with the app's label is one Skiff made to run it (each
 * carries skiff.process): an image's labels reach every container made from
 * it, so a build's step containers carry the app's label too.
 */
function isInstance(c: ContainerInfo): boolean {
  return c.Labels[LABEL_PROCESS] !== undefined;
}

function toInstance(c: ContainerInfo): Instance {
  const port = c.Ports.find((p) => p.PublicPort)?.PublicPort;
  return {
    id: c.Id,
    name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
    app: c.Labels[LABEL_APP],
    release: Number(c.Labels[LABEL_RELEASE] ?? 0),
    process: c.Labels[LABEL_PROCESS] ?? 'web',
    index: Number(c.Labels[LABEL_INSTANCE] ?? 1),
    state: c.State,
    hostPort: port,
    startedAt: new Date(c.Created * 1000).toISOString(),
  };
}
