import { InvalidError } from '../errors.js';
import type { LogLine } from './log-lines.js';
import type { AppRuntimes, DeployOptions, FormationSpec, Instance, LogOptions, OneOffIO, OneOffSpec, Rollout, Runtime } from './runtime.js';

export const RUNTIME_NAMES = ['docker', 'systemd', 'swarm'] as const;
export type RuntimeName = (typeof RUNTIME_NAMES)[number];

export function parseRuntimeName(name: string): RuntimeName {
  if (!(RUNTIME_NAMES as readonly string[]).includes(name)) throw new InvalidError(`unknown runtime '${name}'; choose ${RUNTIME_NAMES.join(', ')}`);
  return name as RuntimeName;
}

/**
 * The runtimes this server has, chosen per app: the app's own setting
 * (apps:set APP runtime NAME), else SKIFF_RUNTIME. Each app call goes to
 * the app's runtime, so the pipeline does not care which.
 */
export class Runtimes implements AppRuntimes {
  constructor(
    private readonly available: Partial<Record<RuntimeName, Runtime>>,
    private readonly choose: (app: string) => RuntimeName,
  ) {}

  /** The named runtime, or a refusal that says why it cannot be used here. */
  named(name: RuntimeName): Runtime {
    const runtime = this.available[name];
    if (!runtime) throw new InvalidError(`the ${name} runtime is not available on this server (${UNAVAILABLE[name]})`);
    return runtime;
  }

  for(app: string): Runtime {
    return this.named(this.choose(app));
  }

  deploy(app: string, formation: readonly FormationSpec[], options: DeployOptions): Promise<Rollout> {
    return this.for(app).deploy(app, formation, options);
  }

  status(app: string): Promise<Instance[]> {
    return this.for(app).status(app);
  }

  destroy(app: string): Promise<void> {
    return this.for(app).destroy(app);
  }

  logs(app: string, options: LogOptions, onLine: (line: LogLine) => void): Promise<void> {
    return this.for(app).logs(app, options, onLine);
  }

  run(spec: OneOffSpec, io: OneOffIO): Promise<number> {
    return this.for(spec.app).run(spec, io);
  }

  stopCronRuns(app: string, run?: number): Promise<number> {
    return this.for(app).stopCronRuns(app, run);
  }

  exec(instance: Instance, command: string[], options: { timeoutMs: number; signal: AbortSignal }): Promise<{ exitCode: number; output: string }> {
    return this.for(instance.app).exec(instance, command, options);
  }
}

const UNAVAILABLE: Record<RuntimeName, string> = {
  docker: 'no Docker engine',
  systemd: 'systemd is not PID 1 on this host',
  swarm: 'the Docker engine is not a swarm manager; run docker swarm init',
};
