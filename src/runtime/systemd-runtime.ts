import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { containerName } from '../domain/names.js';
import { DeployFailedError, ExternalError } from '../errors.js';
import type { Logger } from '../log.js';
import type { DockerRuntime } from './docker-runtime.js';
import { findFreePort } from './free-port.js';
import { probeHttp } from './http-probe.js';
import type { LogLine } from './log-lines.js';
import type { DeployOptions, Instance, LogOptions, OneOffIO, OneOffSpec, ProcessSpec, Runtime } from './runtime.js';
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
 * runs is still a labelled container, so status, logs, run and exec are the
 * docker runtime's.
 */
export class SystemdRuntime implements Runtime {
  readonly name = 'systemd';

  constructor(
    private readonly containers: DockerRuntime,
    private readonly options: SystemdOptions,
    private readonly log: Logger,
  ) {}

  private get docker(): string {
    return this.options.docker ?? '/usr/bin/docker';
  }

  private async systemctl(...args: string[]): Promise<void> {
    try {
      await run('systemctl', args);
    } catch (err) {
      throw new ExternalError(`systemctl ${args.join(' ')} failed: ${((err as { stderr?: string }).stderr ?? String(err)).trim()}`, err);
    }
  }

  async start(spec: ProcessSpec, { readyTimeoutMs, progress, signal }: DeployOptions): Promise<Instance> {
    const hostPort = spec.port === null ? null : await findFreePort('127.0.0.1');
    const name = `${containerName(spec.app, spec.process, spec.index, spec.release)}-${Math.random().toString(36).slice(2, 6)}`;
    const envFile = path.join(this.options.envDir, `${name}.env`);
    fs.mkdirSync(this.options.envDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(envFile, envFileText(spec), { mode: 0o600 });
    const unit = renderUnit(spec, { name, hostPort, envFile, docker: this.docker, stopTimeoutSeconds: this.options.stopTimeoutSeconds });
    fs.writeFileSync(path.join(this.options.unitDir, `${name}.service`), unit, { mode: 0o644 });
    try {
      await this.containers.ensureNetwork();
      await this.systemctl('daemon-reload');
      await this.systemctl('enable', '--now', `${name}.service`);
      await this.waitReady(name, hostPort, spec, readyTimeoutMs, signal);
    } catch (err) {
      progress.info(`${spec.process}.${spec.index} did not come up; journalctl -u ${name} has its output`);
      await this.remove(name);
      throw err;
    }
    const instance = (await this.containers.status(spec.app)).find((i) => i.name === name);
    return instance ?? { id: name, name, app: spec.app, release: spec.release, process: spec.process, index: spec.index, state: 'running', hostPort: hostPort ?? undefined };
  }

  private async waitReady(name: string, hostPort: number | null, spec: ProcessSpec, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let status: number | undefined;
    while (Date.now() < deadline) {
      if (signal.aborted) throw new DeployFailedError('deploy cancelled');
      if (hostPort === null) {
        await sleep(1000);
        const active = await run('systemctl', ['is-active', `${name}.service`]).then(() => true, () => false);
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
    fs.rmSync(path.join(this.options.unitDir, `${name}.service`), { force: true });
    fs.rmSync(path.join(this.options.envDir, `${name}.env`), { force: true });
    await this.systemctl('daemon-reload').catch(() => undefined);
  }

  async stop(instances: readonly Instance[]): Promise<void> {
    await Promise.all(instances.map((i) => this.remove(i.name)));
  }

  status(app: string): Promise<Instance[]> {
    return this.containers.status(app);
  }

  async destroy(app: string): Promise<void> {
    await this.stop(await this.status(app));
    // Units whose container is gone already.
    for (const file of fs.existsSync(this.options.unitDir) ? fs.readdirSync(this.options.unitDir) : []) {
      if (!file.startsWith('skiff-') || !file.endsWith('.service')) continue;
      const unit = fs.readFileSync(path.join(this.options.unitDir, file), 'utf8');
      if (unit.includes(` --label skiff.app=${app} `)) await this.remove(file.slice(0, -'.service'.length));
    }
    await this.containers.destroy(app);
  }

  logs(app: string, options: LogOptions, onLine: (line: LogLine) => void): Promise<void> {
    return this.containers.logs(app, options, onLine);
  }

  run(spec: OneOffSpec, io: OneOffIO): Promise<number> {
    return this.containers.run(spec, io);
  }

  exec(instance: Instance, command: string[], options: { timeoutMs: number; signal: AbortSignal }): Promise<{ exitCode: number; output: string }> {
    return this.containers.exec(instance, command, options);
  }
}
