import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { containerName, LABEL_RUNTIME } from '../domain/names.js';
import { DeployFailedError, ExternalError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ContainerInfo } from '../docker/client.js';
import type { Engine } from '../docker/engine.js';
import { uniqueSuffix } from '../docker/client.js';
import { DockerRuntime } from './docker-runtime.js';
import { findFreePort } from './free-port.js';
import { probeHttp } from './http-probe.js';
import type { Instance, ProcessSpec, StartOptions } from './runtime.js';
import { envFileText, renderUnit } from './systemd-unit.js';

const run = promisify(execFile);

/** systemd runs this host when it is PID 1 (not in most containers or CI). */
export function systemdIsInit(): boolean {
  return fs.existsSync('/run/systemd/system');
}

export interface SystemdOptions {
  /** Where units go (/etc/systemd/system). */
  unitDir: string;
  /** Where env files go (SKIFF_HOME/units), mode 0600. */
  envDir: string;
  stopTimeoutSeconds: number;
  docker?: string;
}

/**
 * Runs each instance as a systemd unit that runs its container in the
 * foreground: systemd restarts it and starts it at boot. Written, reloaded
 * and started one at a time, new before old, like the docker runtime; what
 * runs is still a labelled container, so deploy, status, logs, run and exec
 * are the docker runtime's, and only starting and stopping an instance differ.
 */
export class SystemdRuntime extends DockerRuntime {
  override readonly name = 'systemd';

  constructor(
    engine: Engine,
    private readonly unitOptions: SystemdOptions,
    log: Logger,
  ) {
    super(engine, { stopTimeoutSeconds: unitOptions.stopTimeoutSeconds }, log);
  }

  /** Only the containers this host's units run (labelled so); the docker runtime's are not its own. */
  protected override owns(c: ContainerInfo): boolean {
    return c.Labels[LABEL_RUNTIME] === 'systemd';
  }

  private get dockerCli(): string {
    return this.unitOptions.docker ?? '/usr/bin/docker';
  }

  private async systemctl(...args: string[]): Promise<void> {
    try {
      await run('systemctl', args);
    } catch (err) {
      throw new ExternalError(`systemctl ${args.join(' ')} failed: ${((err as { stderr?: string }).stderr ?? String(err)).trim()}`, err);
    }
  }

  override async start(spec: ProcessSpec, { readyTimeoutMs, progress, signal }: StartOptions): Promise<Instance> {
    const hostPort = spec.port === null ? null : (spec.hostPort ?? (await findFreePort('127.0.0.1')));
    const name = `${containerName(spec.app, spec.process, spec.index, spec.release)}-${uniqueSuffix()}`;
    const envFile = path.join(this.unitOptions.envDir, `${name}.env`);
    fs.mkdirSync(this.unitOptions.envDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(envFile, envFileText(spec), { mode: 0o600 });
    const unit = renderUnit(spec, { name, hostPort, envFile, docker: this.dockerCli, stopTimeoutSeconds: this.unitOptions.stopTimeoutSeconds });
    fs.writeFileSync(path.join(this.unitOptions.unitDir, `${name}.service`), unit, { mode: 0o644 });
    try {
      await this.ensureNetwork();
      await this.systemctl('daemon-reload');
      await this.systemctl('enable', '--now', `${name}.service`);
      await this.waitReady(name, hostPort, spec, readyTimeoutMs, signal);
    } catch (err) {
      progress.info(`${spec.process}.${spec.index} did not come up; journalctl -u ${name} has its output`);
      await this.remove(name);
      throw err;
    }
    const instance = (await this.status(spec.app)).find((i) => i.name === name);
    return (
      instance ?? {
        id: name,
        name,
        app: spec.app,
        release: spec.release,
        process: spec.process,
        index: spec.index,
        state: 'running',
        hostPort: hostPort ?? undefined,
      }
    );
  }

  private async waitReady(name: string, hostPort: number | null, spec: ProcessSpec, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let status: number | undefined;
    while (Date.now() < deadline) {
      if (signal.aborted) throw new DeployFailedError('deploy cancelled');
      if (hostPort === null) {
        await sleep(1000);
        const active = await run('systemctl', ['is-active', `${name}.service`]).then(
          () => true,
          () => false,
        );
        if (active) return;
        throw new DeployFailedError(`${spec.process}.${spec.index} exited right after it started; the previous release keeps running`);
      }
      status = await probeHttp('127.0.0.1', hostPort, spec.healthcheck ?? '/', 1000);
      if (status !== undefined && (!spec.healthcheck || (status >= 200 && status < 300))) return;
      await sleep(250);
    }
    throw new DeployFailedError(`the new release did not answer HTTP on its PORT within ${Math.round(timeoutMs / 1000)}s; the previous release keeps serving`);
  }

  private async remove(name: string): Promise<void> {
    await this.systemctl('disable', '--now', `${name}.service`).catch((err: unknown) => this.log.warn({ err, unit: name }, 'could not stop unit'));
    fs.rmSync(path.join(this.unitOptions.unitDir, `${name}.service`), { force: true });
    fs.rmSync(path.join(this.unitOptions.envDir, `${name}.env`), { force: true });
    await this.systemctl('daemon-reload').catch(() => undefined);
  }

  override async stop(instances: readonly Instance[]): Promise<void> {
    await Promise.all(instances.map((i) => this.remove(i.name)));
  }

  /** systemd says a unit is inactive once its container is gone: nothing is left to remove then. */
  override async vacate(instances: readonly Instance[]): Promise<{ removed: () => Promise<void> }> {
    await this.stop(instances);
    return { removed: () => Promise.resolve() };
  }

  override async destroy(app: string): Promise<void> {
    await this.stop(await this.status(app));
    // Units whose container is gone already.
    for (const file of fs.existsSync(this.unitOptions.unitDir) ? fs.readdirSync(this.unitOptions.unitDir) : []) {
      if (!file.startsWith('skiff-') || !file.endsWith('.service')) continue;
      const unit = fs.readFileSync(path.join(this.unitOptions.unitDir, file), 'utf8');
      if (unit.includes(` --label skiff.app=${app} `)) await this.remove(file.slice(0, -'.service'.length));
    }
    await super.destroy(app);
  }
}
