import type { ContainerInfo } from 'dockerode';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Docker } from '../docker/client.js';
import { demuxLogs, isNotFound, isNotModified } from '../docker/client.js';
import { DeployFailedError, ExternalError } from '../errors.js';
import { LABEL_APP, LABEL_PROCESS, LABEL_RELEASE } from '../domain/names.js';
import type { Logger } from '../log.js';
import { containerSpec } from './container-spec.js';
import { findFreePort } from './free-port.js';
import { probeHttp } from './http-probe.js';
import type { DeployOptions, Instance, ProcessSpec, Runtime } from './runtime.js';

export interface DockerRuntimeOptions {
  /** Address the instances' ports are published on. */
  bind: string;
  stopTimeoutSeconds: number;
}

/** Runs each process instance as a labelled container on this host's Docker engine. */
export class DockerRuntime implements Runtime {
  readonly name = 'docker';

  constructor(
    private readonly docker: Docker,
    private readonly options: DockerRuntimeOptions,
    private readonly log: Logger,
  ) {}

  async deploy(spec: ProcessSpec, { readyTimeoutMs, progress, signal }: DeployOptions): Promise<Instance> {
    const probeHost = this.options.bind === '0.0.0.0' ? '127.0.0.1' : this.options.bind;
    const hostPort = await findFreePort(probeHost);
    const create = containerSpec(spec, this.options.bind, hostPort);
    // A container of the same name is a leftover of an interrupted attempt at this release.
    await this.removeContainer(String(create.name));
    let container;
    try {
      container = await this.docker.createContainer(create);
      await container.start();
    } catch (err) {
      if (container) await this.removeContainer(container.id);
      throw new DeployFailedError(`could not start ${create.name}: ${dockerMessage(err)}`, err);
    }
    try {
      await this.waitUntilAnswering(container.id, probeHost, hostPort, readyTimeoutMs, signal);
    } catch (err) {
      const tail = await this.tailLogs(container.id, 20);
      if (tail.trim() !== '') {
        progress.info('Last lines of its output:');
        progress.output(tail);
      }
      await this.removeContainer(container.id);
      throw err;
    }
    return {
      id: container.id,
      name: String(create.name),
      app: spec.app,
      release: spec.release,
      process: spec.process,
      state: 'running',
      hostPort,
    };
  }

  private async waitUntilAnswering(
    id: string,
    host: string,
    port: number,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (signal.aborted) throw new DeployFailedError('deploy cancelled');
      if (await probeHttp(host, port, 1000)) return;
      const { State } = await this.docker.getContainer(id).inspect();
      if (!State.Running || State.Restarting) {
        throw new DeployFailedError(
          `the new release exited with status ${State.ExitCode} before it answered HTTP; the previous release keeps serving`,
        );
      }
      if (Date.now() > deadline) {
        throw new DeployFailedError(
          `the new release did not answer HTTP on its PORT within ${Math.round(timeoutMs / 1000)}s; the previous release keeps serving`,
        );
      }
      await sleep(200);
    }
  }

  async retire(app: string, keepRelease: number | null): Promise<Instance[]> {
    const retired = (await this.status(app)).filter((i) => i.release !== keepRelease);
    // Stopped together: each may take up to the stop timeout to drain.
    await Promise.all(retired.map((i) => this.removeContainer(i.id)));
    return retired;
  }

  async status(app: string): Promise<Instance[]> {
    const containers = await this.docker.listContainers({ all: true, filters: { label: [`${LABEL_APP}=${app}`] } });
    return containers.map(toInstance).sort((a, b) => a.release - b.release || a.name.localeCompare(b.name));
  }

  async destroy(app: string): Promise<void> {
    await this.retire(app, null);
  }

  private async removeContainer(idOrName: string): Promise<void> {
    const container = this.docker.getContainer(idOrName);
    try {
      await container.stop({ t: this.options.stopTimeoutSeconds });
    } catch (err) {
      if (isNotFound(err)) return;
      if (!isNotModified(err)) this.log.warn({ err, container: idOrName }, 'stop failed; removing by force');
    }
    try {
      await container.remove({ force: true });
    } catch (err) {
      // 409: removal already under way.
      if (isNotFound(err) || (err as { statusCode?: number }).statusCode === 409) return;
      throw new ExternalError(`could not remove container ${idOrName}: ${dockerMessage(err)}`, err);
    }
  }

  private async tailLogs(id: string, lines: number): Promise<string> {
    try {
      const buf = (await this.docker.getContainer(id).logs({ stdout: true, stderr: true, tail: lines })) as unknown as Buffer;
      return demuxLogs(buf);
    } catch {
      return '';
    }
  }
}

function toInstance(c: ContainerInfo): Instance {
  const port = c.Ports.find((p) => p.PublicPort)?.PublicPort;
  return {
    id: c.Id,
    name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
    app: c.Labels[LABEL_APP],
    release: Number(c.Labels[LABEL_RELEASE] ?? 0),
    process: c.Labels[LABEL_PROCESS] ?? 'web',
    state: c.State,
    hostPort: port,
    startedAt: new Date(c.Created * 1000).toISOString(),
  };
}

function dockerMessage(err: unknown): string {
  const json = (err as { json?: { message?: string } }).json;
  if (json?.message) return json.message;
  return err instanceof Error ? err.message : String(err);
}
